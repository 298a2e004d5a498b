/**
 * Cameras as a device kind: enrolled with a nickname, given a random MQTT password (only its
 * Argon2id hash is kept), speaking hearth's camera protocol (protocol.ts) to the broker, or, when
 * enrolled with a firmware profile and its topic (profiles/), that firmware's own topics.
 */
import { generateDevicePassword } from '../../crypto/password.js';
import { EnrolmentError, type DeviceKindPlugin } from '../kind.js';
import { nicknameProblem } from '../registry.js';
import { ChildCameras } from './children.js';
import { CameraProfileStore, CAMERA_TOPIC } from './profile-store.js';
import { bindingProblem, bindingsOverlap, FIRMWARE_PROFILES, isProfileName, PROFILE_NAMES, rulesOf, type CameraBinding } from './profiles/index.js';
import { cameraTopics } from './protocol.js';
import { CameraService, CAMERA_KIND } from './service.js';
import { CameraStore, CAMERA_STATE, EVENT_DETAIL } from './store.js';

/** The topics a camera may use, as its enrolment shows them. */
export function enrolmentTopics(deviceId: string, binding: CameraBinding | undefined): Record<string, unknown> {
  if (!binding) return { profile: 'hearth', topics: cameraTopics(deviceId) };
  const rules = rulesOf(binding);
  return { profile: binding.profile, topic: binding.root, topics: { publish: [...rules.publish, ...rules.tolerated], subscribe: rules.subscribe } };
}

export const cameraKind: DeviceKindPlugin = {
  kind: CAMERA_KIND,
  idPrefix: 'cam',
  label: 'camera',
  enrolmentFields: {
    nickname: 'a name for the camera, e.g. "Front door"',
    profile: `what the camera runs: ${PROFILE_NAMES.join(', ')} (default hearth)`,
    topic: 'the topic set in the camera’s own settings (not for hearth)',
  },
  enrolmentArgs: ['nickname'],
  enrolmentOptions: {
    profile: `${PROFILE_NAMES.join('|')}`,
    topic: Object.values(FIRMWARE_PROFILES)
      .map((p) => `${p.name}: ${p.topicHelp}`)
      .join('; '),
  },
  enrolmentSummary: `enrol a camera; prints its MQTT username and password once (--profile ${PROFILE_NAMES.join('|')}, --topic as set in the camera)`,
  describeEnrolment(deviceId, shown) {
    const lines = [`camera enrolled: ${deviceId}`, `  MQTT username: ${String(shown.username)}`, `  MQTT password: ${String(shown.password)}`];
    if (shown.profile === 'hearth') {
      const topics = shown.topics as { status: string; event: string };
      lines.push(`  publish to: ${topics.status} and ${topics.event}`);
    } else {
      const topics = shown.topics as { publish: string[]; subscribe: string[] };
      lines.push(`  profile: ${String(shown.profile)}`, `  may publish to: ${topics.publish.join(', ')}`, `  may subscribe to: ${topics.subscribe.join(', ') || '(nothing)'}`);
    }
    lines.push('The password is shown only now; the hub keeps only a hash of it.');
    return lines;
  },
  sealedColumns: [CAMERA_STATE, EVENT_DETAIL, CAMERA_TOPIC],

  async prepareEnrolment(input, { passwords, deviceId }) {
    const nickname = typeof input.nickname === 'string' ? input.nickname.trim() : undefined;
    if (nickname === undefined) throw new EnrolmentError('nickname is required');
    const problem = nicknameProblem(nickname);
    if (problem) throw new EnrolmentError(problem);
    const binding = bindingFrom(input);
    const password = generateDevicePassword();
    const secretHash = await passwords.hash(password, 'device');
    return {
      nickname,
      secretHash,
      // Inside the enrolment transaction: no other enrolment can claim the same topics meanwhile.
      writeRows: binding
        ? (store, id) => {
            const profiles = new CameraProfileStore(store.db, store.sealer);
            if (profiles.all().some((other) => bindingsOverlap(binding, other.binding))) {
              throw new EnrolmentError(`another camera already uses topics that overlap ${binding.profile} "${binding.root}"`, 'conflict');
            }
            profiles.insert(id, binding);
          }
        : undefined,
      // The password is in this answer only: the hub keeps its Argon2id hash.
      shownOnce: () => ({ username: deviceId, password, ...enrolmentTopics(deviceId, binding) }),
    };
  },

  details(store, deviceId) {
    const v = new CameraStore(store.db, store.sealer).view(deviceId);
    const binding = new CameraProfileStore(store.db, store.sealer).bindingOf(deviceId);
    const parent = new ChildCameras(store.db, store.sealer, 'cam', CAMERA_KIND).parentOf(deviceId) ?? null;
    return { online: v.online, lastSeen: v.lastSeen, eventCounts: v.eventCounts, fields: { profile: binding?.profile ?? (parent ? 'frigate' : 'hearth'), parent, model: v.model, firmware: v.firmware, ssid: v.ssid, ip: v.ip, rssi: v.rssi } };
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

/** The profile and topic from enrolment input; undefined for hearth's own protocol. */
function bindingFrom(input: Record<string, unknown>): CameraBinding | undefined {
  const profile = input.profile === undefined || input.profile === '' ? 'hearth' : input.profile;
  if (!isProfileName(profile)) throw new EnrolmentError(`profile must be one of ${PROFILE_NAMES.join(', ')}`);
  const topic = typeof input.topic === 'string' ? input.topic.trim() : input.topic;
  if (profile === 'hearth') {
    if (topic !== undefined && topic !== '') throw new EnrolmentError('a hearth camera uses the hub’s own topics; --topic is for the other profiles');
    return undefined;
  }
  if (typeof topic !== 'string' || topic === '') throw new EnrolmentError(`the ${profile} profile needs the topic set in the camera (${FIRMWARE_PROFILES[profile].topicHelp})`);
  const problem = bindingProblem(profile, topic);
  if (problem) throw new EnrolmentError(problem);
  return { profile, root: topic };
}
