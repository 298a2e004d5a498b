/**
 * mqtt-packet traces every parsed field through the `debug` package. With tracing off (no DEBUG
 * variable naming it) each of those calls still builds an argument array, about a fifth of
 * everything the hub allocates per MQTT message, and so a fifth of its garbage collection.
 *
 * Imported first by the CLI entry, before anything loads mqtt-packet: from then on `debug(name)`
 * returns an empty function for a namespace that is not enabled at creation, and the real logger
 * for one that is (DEBUG=mqtt-packet:* still traces). Namespaces cannot be switched on later at
 * run time, which the hub never does.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

type DebugFactory = ((namespace: string) => unknown) & { enabled(namespace: string): boolean };

function silenceDisabledDebug(): void {
  let path: string;
  try {
    path = require.resolve('debug');
  } catch {
    return; // not installed: nothing to do
  }
  const createDebug = require(path) as DebugFactory;
  const cached = require.cache[path];
  if (!cached || typeof createDebug !== 'function' || typeof createDebug.enabled !== 'function') return;
  const silent = () => {};
  const factory = Object.assign((namespace: string) => (createDebug.enabled(namespace) ? createDebug(namespace) : silent), createDebug);
  cached.exports = factory;
}

silenceDisabledDebug();
