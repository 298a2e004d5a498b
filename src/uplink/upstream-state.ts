/**
 * Whether anything goes upstream now, in the four words the dashboard and Home Assistant both
 * show: on, paused by the hardware switch, paused (command or web UI), or off (no upstream
 * configured, or nothing consented). Defined once here.
 */
export type UpstreamState = 'on' | 'paused-by-switch' | 'paused' | 'off';

export const UPSTREAM_STATES: readonly UpstreamState[] = ['on', 'paused-by-switch', 'paused', 'off'];

export function upstreamState(privacy: { paused: boolean; bySwitch: boolean } | undefined, uplinkConfigured: boolean, anyConsented: boolean): UpstreamState {
  if (privacy?.bySwitch) return 'paused-by-switch';
  if (privacy?.paused) return 'paused';
  if (!uplinkConfigured || !anyConsented) return 'off';
  return 'on';
}
