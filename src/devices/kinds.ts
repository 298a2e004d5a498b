/**
 * The device kinds this hub knows. Adding a kind: its folder under src/devices/<kind>/ with a
 * DeviceKindPlugin (kind.ts) and one line here.
 */
import { cameraKind } from './camera/kind.js';
import type { DeviceKindPlugin } from './kind.js';
import { scaleKind } from './scale/kind.js';

export const DEVICE_KINDS: readonly DeviceKindPlugin[] = [cameraKind, scaleKind];
