/**
 * A user rule: any topic root the household names; every message under it is a motion edge
 * (ON/1/true a start, OFF/0/false a stop, anything else a start). For a camera or sensor that
 * only says "something moved".
 */
import { IMAGE_DROPPED, accept, isImage, onOff, text, type FirmwareProfile } from './profile.js';

export const ruleProfile: FirmwareProfile = {
  name: 'rule',
  topicHelp: 'any topic root the device publishes under (every message there is a motion)',
  presence: 'connection',
  rules: (root) => ({ publish: [root, `${root}/#`], tolerated: [], subscribe: [] }),
  interpret(_root, _topic, payload) {
    if (isImage(payload)) return IMAGE_DROPPED;
    const on = onOff(text(payload));
    return accept({ kind: 'event', type: on === false ? 'motion_end' : 'motion' });
  },
};
