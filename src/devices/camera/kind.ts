/**
 * Cameras as a device kind: enrolled with a nickname, given a random MQTT password (only its
 * Argon2id hash is kept), speaking hearth's camera protocol (protocol.ts) to the broker.
 */
import { generateDevicePassword } from '../../crypto/password.js';
import { EnrolmentError, type DeviceKindPlugin } from '../kind.js';
import { nicknameProblem } from '../registry.js';
import { cameraTopics } from './protocol.js';
import { CameraService, CAMERA_KIND } from './service.js';
import { CameraStore, CAMERA_STATE, EVENT_DETAIL } from './store.js';

export const cameraKind: DeviceKindPlugin = {
  kind: CAMERA_KIND,
  idPrefix: 'cam',
  label: 'camera',
  enrolmentFields: { nickname: 'a name for the camera, e.g. "Front door"' },
  enrolmentArgs: ['nickname'],
  enrolmentSummary: 'enrol a camera; prints its MQTT username and password once',
  describeEnrolment(deviceId, shown) {
    const topics = shown.topics as { status: string; event: string };
    return [
      `camera enrolled: ${deviceId}`,
      `  MQTT username: ${String(shown.username)}`,
      `  MQTT password: ${String(shown.password)}`,
      `  publish to: ${topics.status} and ${topics.event}`,
      'The password is shown only now; the hub keeps only a hash of it.',
    ];
  },
  sealedColumns: [CAMERA_STATE, EVENT_DETAIL],

  async prepareEnrolment(input, { passwords, deviceId }) {
    const nickname = typeof input.nickname === 'string' ? input.nickname.trim() : undefined;
    if (nickname === undefined) throw new EnrolmentError('nickname is required');
    const problem = nicknameProblem(nickname);
    if (problem) throw new EnrolmentError(problem);
    const password = generateDevicePassword();
    const secretHash = await passwords.hash(password, 'device');
    // The password is in this answer only: the hub keeps its Argon2id hash.
    return { nickname, secretHash, shownOnce: () => ({ username: deviceId, password, topics: cameraTopics(deviceId) }) };
  },

  details(store, deviceId) {
    const v = new CameraStore(store.db, store.sealer).view(deviceId);
    return { online: v.online, lastSeen: v.lastSeen, eventCounts: v.eventCounts, fields: { model: v.model, firmware: v.firmware, ssid: v.ssid, ip: v.ip, rssi: v.rssi } };
  },

  setup(ctx) {
    return new CameraService({
      db: ctx.db,
      sealer: ctx.sealer,
      bus: ctx.bus,
      logger: ctx.logger,
      counters: ctx.counters,
      storage: ctx.storage,
      batchMaxMessages: ctx.config.ingest.batchMaxMessages,
      batchMaxDelayMs: ctx.config.ingest.batchMaxDelayMs,
    });
  },
};
