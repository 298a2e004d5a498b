/**
 * The hub reaches into aedes and mqtt-packet in a few places that are not public API (both are
 * pinned to exact versions in package.json for this reason):
 * - publish bypass: `Aedes.publish(packet, client, done)` is wrapped so camera publishes are not routed;
 * - length cap: each aedes client's `_parser` (an mqtt-packet Parser) gets its `_parseLength` state
 *   wrapped, failing through `_emitError`, so an oversized packet is refused before it is buffered;
 * - PUBACK fast path: `mqttPacket.writeToStream` (which aedes calls for every write) is replaced,
 *   and its `cacheNumbers` switch turned off;
 * - the MQTT 5 bridge releases aedes' packet loop through the client's `_nextBatch`, and the
 *   broker reads the client's `closed` flag.
 * A different version could drop or reshape any of them and the hub would then misbehave quietly
 * (no size cap, routed camera data, stalled v5 clients). So before the broker starts, this checks
 * every one of them on a throwaway client and refuses to start, naming what is missing.
 */
import { Duplex } from 'node:stream';
import type { Aedes } from 'aedes';
import mqttPacket from 'mqtt-packet';

export class BrokerInternalsError extends Error {
  constructor(readonly missing: string[]) {
    super(
      `the installed aedes / mqtt-packet lack internals the hub relies on (${missing.join('; ')}); ` +
        'install the exact versions package.json pins (npm ci, or reinstall hearth) and start again',
    );
    this.name = 'BrokerInternalsError';
  }
}

const isFunction = (v: unknown, minArity = 0): boolean => typeof v === 'function' && (v as (...a: unknown[]) => unknown).length >= minArity;

/** Returns what is missing or has the wrong shape (empty when everything the hub patches is there). */
export function missingBrokerInternals(aedes: Aedes): string[] {
  const missing: string[] = [];
  // Publish bypass: publish(packet, client, done), three parameters.
  if (!isFunction((aedes as unknown as { publish?: unknown }).publish, 3)) missing.push('Aedes.publish(packet, client, done)');

  // PUBACK fast path.
  const write = (mqttPacket as { writeToStream?: unknown }).writeToStream;
  if (!isFunction(write, 2)) missing.push('mqttPacket.writeToStream(packet, stream)');
  else if (typeof (write as { cacheNumbers?: unknown }).cacheNumbers !== 'boolean') missing.push('mqttPacket.writeToStream.cacheNumbers');

  // Length cap, packet loop, closed flag: on a client aedes builds for a stream that never connects.
  const stream = new Duplex({ read() {}, write(_c, _e, cb) { cb(); } });
  let client: Record<string, unknown> | undefined;
  try {
    client = aedes.handle(stream as never) as unknown as Record<string, unknown>;
  } catch {
    missing.push('Aedes.handle(stream)');
  }
  if (client) {
    const parser = client._parser as Record<string, unknown> | undefined;
    if (!parser || typeof parser !== 'object') missing.push('client._parser');
    else {
      if (!isFunction(parser._parseLength)) missing.push('parser._parseLength');
      if (!Array.isArray(parser._states) || !(parser._states as unknown[]).includes('_parseLength')) missing.push('parser._states with _parseLength');
      if (!isFunction(parser._emitError, 1)) missing.push('parser._emitError(err)');
      if (!parser.packet || typeof parser.packet !== 'object') missing.push('parser.packet');
    }
    if (!isFunction(client._nextBatch)) missing.push('client._nextBatch');
    if (typeof client.closed !== 'boolean') missing.push('client.closed');
    try {
      (client as { close?: () => void }).close?.();
    } catch {
      /* the probe is discarded either way */
    }
  }
  stream.destroy();
  return missing;
}

/** Throws BrokerInternalsError unless every patched internal is there. */
export function assertBrokerInternals(aedes: Aedes): void {
  const missing = missingBrokerInternals(aedes);
  if (missing.length > 0) throw new BrokerInternalsError(missing);
}
