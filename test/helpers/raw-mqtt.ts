/**
 * A raw MQTT connection over TCP for hostile-input tests: sends exact bytes and reports what came
 * back (the packets the broker sent, and whether it closed the connection).
 */
import { connect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';

export type Outcome = { closed: boolean; packets: mqttPacket.Packet[] };

export function connectPacket(username: string, password: string, clientId = `fuzz-${Math.random().toString(36).slice(2)}`): Buffer {
  return mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 30, username, password: Buffer.from(password) });
}

export function publishPacket(topic: string, payload: Buffer | string, messageId = 1, qos: 0 | 1 = 1): Buffer {
  return mqttPacket.generate({ cmd: 'publish', topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, qos, messageId, retain: false, dup: false });
}

/**
 * Opens a connection, writes `bytes`, and collects replies until `done(packets)` says so, the
 * broker closes the connection, or `waitMs` passes.
 */
/** `from` picks the source address (any 127.x.y.z works on Linux), to act as another host. */
export function exchange(port: number, bytes: Buffer, done: (packets: mqttPacket.Packet[]) => boolean, waitMs = 2000, from?: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const sock: Socket = connect({ port, host: '127.0.0.1', localAddress: from });
    const parser = mqttPacket.parser();
    const packets: mqttPacket.Packet[] = [];
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ closed, packets });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    parser.on('packet', (p) => {
      packets.push(p);
      if (done(packets)) finish(false);
    });
    parser.on('error', () => finish(true));
    sock.on('data', (d) => parser.parse(d));
    sock.on('close', () => finish(true));
    sock.on('error', () => finish(true));
    sock.on('connect', () => sock.write(bytes));
  });
}
