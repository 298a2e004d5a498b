/**
 * Acknowledgements that wait for the database, several messages in flight per connection.
 *
 * mqtt.js hands a connection's next message over only after the PUBACK of the one before has been
 * written, so with one message in flight per connection a collector needs many connections, and
 * every report costs its own PUBACK write. Here mqtt.js's own PUBACK for a QoS 1 message is held
 * back (its packet handling goes on at once) and the PUBACK goes out when the report is committed:
 * up to the connection's Receive Maximum of messages are in flight, and the PUBACKs of a batch are
 * written together. MQTT requires a receiver's PUBACKs in the order of the PUBLISHes, so a
 * connection's acknowledgements leave from the head of its queue only. A queue belongs to one
 * network connection: after a reconnect, what it held is never acknowledged (the broker delivers
 * those messages again to the session, and the store finds the ones already committed).
 *
 * This replaces mqtt.js's private `_sendPacket` on the client for PUBACKs (the version is pinned in
 * package.json; test/collector-acks.test.ts checks the behaviour against a real Mosquitto).
 */
import type { MqttClient } from 'mqtt';

/** Messages the broker may send a connection before their PUBACKs (the MQTT 5 Receive Maximum the collector asks for). */
export const RECEIVE_MAXIMUM = 64;

type SendPacket = (packet: Record<string, unknown>, cb?: (err?: Error) => void, ...rest: unknown[]) => void;

interface Held {
  messageId: number;
  done: boolean;
}

export class OrderedAcks {
  private queue: Held[] = [];
  private readonly send: SendPacket;

  constructor(private readonly client: MqttClient) {
    const target = client as unknown as { _sendPacket: SendPacket };
    if (typeof target._sendPacket !== 'function') throw new Error('this mqtt.js has no _sendPacket: held PUBACKs need the version pinned in package.json');
    const original = target._sendPacket.bind(client);
    this.send = original;
    // mqtt.js's own PUBACKs are dropped here; ours go out through `original` in order.
    target._sendPacket = (packet, cb, ...rest) => {
      if (packet.cmd === 'puback') return void cb?.();
      original(packet, cb, ...rest);
    };
    // A new network connection starts a new queue: the old one's acknowledgements are void.
    client.on('close', () => (this.queue = []));
  }

  /** Messages received on this connection and not acknowledged yet. */
  get held(): number {
    return this.queue.length;
  }

  /** Holds a message's PUBACK; the function returned releases it (once the report is committed). */
  hold(messageId: number): () => void {
    const entry: Held = { messageId, done: false };
    const queue = this.queue;
    queue.push(entry);
    return () => {
      if (entry.done) return;
      entry.done = true;
      if (queue !== this.queue) return; // the connection it came on is gone
      let n = 0;
      while (n < queue.length && queue[n]!.done) n++;
      if (n === 0) return;
      for (const h of queue.splice(0, n)) this.send({ cmd: 'puback', messageId: h.messageId, reasonCode: 0 });
    };
  }
}
