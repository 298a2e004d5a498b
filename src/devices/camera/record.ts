/**
 * What the broker hands the camera store for each accepted message: a status, an event or a
 * presence change, with the time it arrived.
 */
import type { CameraEvent, CameraStatus } from './protocol.js';

export type CameraRecord =
  | { kind: 'status'; deviceId: string; status: CameraStatus; at: number }
  | { kind: 'event'; deviceId: string; event: CameraEvent; at: number }
  | { kind: 'presence'; deviceId: string; online: boolean; at: number };
