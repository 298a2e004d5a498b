/**
 * The firmware profiles a camera can be enrolled with, and the decisions made from them: which
 * topics a camera may publish and subscribe to, whether two cameras' topics overlap, what a
 * publish means. `hearth` is hearth's own protocol (../protocol.ts) and has no entry here.
 */
import { dafangProfile } from './dafang.js';
import { esphomeProfile } from './esphome.js';
import { frigateProfile } from './frigate.js';
import { PROFILE_NAMES, refuse, type FirmwareProfile, type Interpretation, type ProfileName, type TopicRules } from './profile.js';
import { ruleProfile } from './rule.js';
import { tasmotaProfile } from './tasmota.js';
import { thinginoProfile } from './thingino.js';
import { filterCovers, filtersOverlap, topicMatches, topicRootProblem } from './topics.js';

export { PROFILE_NAMES, PRESENCE_GRACE, type FirmwareProfile, type Interpretation, type ProfileItem, type ProfileName, type TopicRules } from './profile.js';
export { filterCovers, filtersOverlap, topicMatches, topicRootProblem } from './topics.js';

export const FIRMWARE_PROFILES: Readonly<Record<Exclude<ProfileName, 'hearth'>, FirmwareProfile>> = {
  frigate: frigateProfile,
  thingino: thinginoProfile,
  dafang: dafangProfile,
  tasmota: tasmotaProfile,
  esphome: esphomeProfile,
  rule: ruleProfile,
};

export function isProfileName(v: unknown): v is ProfileName {
  return typeof v === 'string' && (PROFILE_NAMES as readonly string[]).includes(v);
}

/** A camera's profile and the root it was enrolled with. */
export interface CameraBinding {
  profile: Exclude<ProfileName, 'hearth'>;
  root: string;
}

export function rulesOf(b: CameraBinding): TopicRules {
  return FIRMWARE_PROFILES[b.profile].rules(b.root);
}

/** Why `root` cannot be used with `profile`, or undefined. */
export function bindingProblem(profile: Exclude<ProfileName, 'hearth'>, root: string): string | undefined {
  return topicRootProblem(root) ?? FIRMWARE_PROFILES[profile].topicProblem?.(root);
}

/** Does a new binding claim topics an existing one claims? (Tolerated, unclaimed topics do not count.) */
export function bindingsOverlap(a: CameraBinding, b: CameraBinding): boolean {
  const x = rulesOf(a).publish;
  const y = rulesOf(b).publish;
  return x.some((f) => y.some((g) => filtersOverlap(f, g)));
}

export function maySubscribe(b: CameraBinding, filter: string): boolean {
  return rulesOf(b).subscribe.some((allowed) => filterCovers(allowed, filter));
}

/** What a publish to `topic` means for the camera, or why it is refused (`topic_not_own`). */
export function interpretPublish(b: CameraBinding, topic: string, payload: Uint8Array): Interpretation {
  const rules = rulesOf(b);
  if (!rules.publish.some((f) => topicMatches(f, topic)) && !rules.tolerated.some((f) => topicMatches(f, topic))) return refuse('topic_not_own');
  return FIRMWARE_PROFILES[b.profile].interpret(b.root, topic, payload);
}
