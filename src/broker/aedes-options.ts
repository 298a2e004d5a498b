/**
 * aedes' settings for the hub's broker. A module of its own, without imports, so the benchmark's
 * bare aedes baseline (bench/bare-aedes.mjs) runs with exactly these and nothing else of the hub.
 */
export const AEDES_OPTIONS = {
  // $SYS heartbeats are of no use to cameras; keep them rare.
  heartbeatInterval: 3_600_000,
  // A camera sends CONNECT at once; a socket that sends nothing gives its slot back soon.
  connectTimeout: 5_000,
  drainTimeout: 30_000,
  maxClientsIdLength: 64,
  maxTopicLevels: 16,
  queueLimit: 42,
  concurrency: 1000,
} as const;
