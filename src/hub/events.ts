/**
 * Live changes inside the running hub, for whoever wants to follow them without polling the
 * database (the web UI's server-sent events). Carries ids, kinds and times only, never values.
 */
import { EventEmitter } from 'node:events';

export type HubChange =
  | { type: 'presence'; deviceId: string; online: boolean; at: number }
  | { type: 'status'; deviceId: string; at: number }
  | { type: 'event'; deviceId: string; eventType: string; at: number }
  | { type: 'devices' | 'measurement' | 'privacy' | 'storage'; at: number };

export class HubEvents {
  private readonly emitter = new EventEmitter();

  constructor(maxListeners = 64) {
    this.emitter.setMaxListeners(maxListeners);
  }

  /** Whether anyone listens: the ingest path skips building changes nobody would read. */
  get watched(): boolean {
    return this.emitter.listenerCount('change') > 0;
  }

  emit(change: HubChange): void {
    this.emitter.emit('change', change);
  }

  /** Returns a function that stops listening. */
  on(listener: (change: HubChange) => void): () => void {
    this.emitter.on('change', listener);
    return () => this.emitter.off('change', listener);
  }
}
