/**
 * The allow-list of what may ever be measured for upstream: three categories, each with a fixed set
 * of integer metrics and, per metric, the bound every value is clamped to before noise is added.
 * The bound is the metric's sensitivity: one home can move a released value by at most that much,
 * which is what the noise has to hide. Adding a metric here also needs it in the report schema.
 */
export const CATEGORIES = ['adoption', 'device-health', 'scale-usage'] as const;
export type Category = (typeof CATEGORIES)[number];

export function isCategory(value: string): value is Category {
  return (CATEGORIES as readonly string[]).includes(value);
}

export interface MetricSpec {
  name: string;
  /** Values are clamped to [0, bound]; bound is also the metric's sensitivity. */
  bound: number;
  help: string;
}

export const METRICS: { readonly [C in Category]: readonly MetricSpec[] } = {
  adoption: [
    { name: 'activations', bound: 5, help: 'camera activation events in the window' },
    { name: 'cameras', bound: 16, help: 'cameras enrolled at the end of the window' },
    { name: 'scales', bound: 4, help: 'scales enrolled at the end of the window' },
  ],
  'device-health': [
    { name: 'connect_attempts', bound: 50, help: 'camera connection attempts (successful connections plus failures)' },
    { name: 'connect_failures', bound: 50, help: 'failed camera connections (reported by cameras or refused by the broker)' },
    { name: 'online_percent', bound: 100, help: 'mean share of the window the enrolled cameras were online, in percent' },
    { name: 'reboots', bound: 10, help: 'camera reboot events in the window' },
  ],
  'scale-usage': [{ name: 'weigh_ins', bound: 20, help: 'weigh-ins on any scale in the window (a count only, never a value)' }],
};

export type MetricValues = Record<string, number>;
