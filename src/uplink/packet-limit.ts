/**
 * A size cap on what the upstream broker may send. mqtt.js buffers an incoming packet of any
 * announced length (up to 256 MB) before parsing it, and has no limit of its own for MQTT 3.1.1;
 * the uplink only ever receives CONNACK, PUBACK and PINGRESP (a few bytes each). This watches the
 * fixed headers of the byte stream as it arrives and reports the first packet announced larger
 * than the cap, before its body is buffered.
 */
export const MAX_INCOMING_PACKET_BYTES = 64 * 1024;

/** Scans MQTT framing: fixed-header byte, remaining length (1–4 bytes, 7 bits each), body. */
export class PacketSizeWatch {
  private skip = 0;
  private lengthBytes = -1; // -1: expecting a fixed-header byte; 0..3: reading the length
  private length = 0;

  constructor(private readonly maxBytes: number) {}

  /** Feeds received bytes; false once a packet announced larger than the cap (or a bad length). */
  feed(chunk: Uint8Array): boolean {
    let i = 0;
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      const byte = chunk[i++]!;
      if (this.lengthBytes < 0) {
        this.lengthBytes = 0;
        this.length = 0;
        continue;
      }
      this.length += (byte & 0x7f) * 128 ** this.lengthBytes;
      this.lengthBytes++;
      if (byte & 0x80) {
        if (this.lengthBytes >= 4) return false;
        continue;
      }
      if (this.length + 1 + this.lengthBytes > this.maxBytes) return false;
      this.skip = this.length;
      this.lengthBytes = -1;
    }
    return true;
  }
}

/** Calls `tooLarge` (once) when `stream` delivers a packet announced larger than `maxBytes`. */
export function limitIncomingPackets(stream: NodeJS.EventEmitter, maxBytes: number, tooLarge: () => void): void {
  const watch = new PacketSizeWatch(maxBytes);
  let tripped = false;
  stream.on('data', (chunk: Uint8Array) => {
    if (tripped || watch.feed(chunk)) return;
    tripped = true;
    tooLarge();
  });
}
