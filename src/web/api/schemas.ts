/**
 * The schemas of every web route: what a request may bring (params, query, body), checked before
 * the handler runs (src/web/validation.ts), and what an answer may carry, per status code.
 *
 * The response schemas are the second allow-list of what leaves the hub, as
 * schemas/report.schema.json is for upstream: answers are serialised from them
 * (fast-json-stringify), so a property a handler returns that is not declared here never reaches
 * the browser. They list the fields the pages (src/web/assets/*.js) use, plus the ones the API
 * documents in docs/web.md; exports and the ledger download carry everything, by design.
 *
 * A field's `refusal` is what a request is told when that field is refused.
 */
import { Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';
import { EVENT_TYPE_PATTERN } from '../../devices/camera/protocol.js';
import { DEVICE_ID_PATTERN } from '../../devices/registry.js';
import { MEASUREMENT_ID_PATTERN } from '../../devices/scale/store.js';
import { MEMBER_ID_PATTERN } from '../../members/store.js';
import { CATEGORIES } from '../../metrics/categories.js';

// ---- building blocks ----

/**
 * `t` or null. A type list (`["string", "null"]`), not an anyOf: an answer's serialiser tells the
 * two apart by typeof, where an anyOf has it compile (on first use, ~17 ms on the event loop for a
 * device page) and then run a validator for every such field it writes.
 */
const Nullable = <T extends TSchema>(t: T): TUnsafe<Static<T> | null> =>
  typeof t.type === 'string' ? Type.Unsafe<Static<T> | null>({ ...t, type: [t.type, 'null'] }) : Type.Unsafe<Static<T> | null>(Type.Union([t, Type.Null()]));

/** One of these strings, as an enum (serialised as a string; no anyOf, as Nullable says). */
const OneOf = <const V extends readonly string[]>(values: V) => Type.Unsafe<V[number]>({ type: 'string', enum: [...values] });

/** Every refusal: `{ "error": reason }`. */
export const ErrorBody = Type.Object({ error: Type.String() });

/** 4xx and 5xx answers of any route: an error and nothing else. */
export const REFUSALS = { '4xx': ErrorBody, '5xx': ErrorBody } as const;

/** An API route that takes no query: anything there is refused. */
const NoQuery = Type.Object({}, { additionalProperties: false });
/** A page: a query (a bookmark's tracking tail, say) is ignored, not refused. */
export const PageQuery = Type.Object({});
/** A state change that carries nothing: no body, or an empty JSON object. */
const NoBody = Type.Union([Type.Null(), Type.Object({}, { additionalProperties: false })], { refusal: 'this request takes no body' });

/** Text the browser shows as is (HTML, SVG, a stylesheet, a script, an event stream): not JSON. */
export const Text = (what: string) => Type.String({ description: what });

const id = (pattern: RegExp) => Type.String({ pattern: pattern.source });
export const DeviceIdParams = Type.Object({ id: id(DEVICE_ID_PATTERN) });
export const MemberIdParams = Type.Object({ id: id(MEMBER_ID_PATTERN) });
export const MeasurementIdParams = Type.Object({ id: id(MEASUREMENT_ID_PATTERN) });

/**
 * A whole number in a query, as text: empty (absent) or digits within a range. Patterns rather than
 * coercion, so `1e9`, `0x10`, ` 5` and `5.0` are refused rather than read as numbers.
 */
export const QUERY_MS_PATTERN = '^([0-9]{1,15})?$';
/** 1–500, no leading zero. */
export const QUERY_LIMIT_500_PATTERN = '^([1-9][0-9]?|[1-4][0-9]{2}|500)?$';
/** 1–1000, no leading zero. */
export const QUERY_LIMIT_1000_PATTERN = '^([1-9][0-9]{0,2}|1000)?$';

// ---- session (src/web/auth/plugin.ts, src/web/server.ts) ----

export const HealthRoute = {
  querystring: NoQuery,
  response: { 200: Type.Object({ status: Type.Literal('ok') }), 503: Type.Object({ status: Type.Literal('starting') }), ...REFUSALS },
};

/** GET /metrics (src/web/api/metrics.ts): the bearer token in the Authorization header. */
export const MetricsRoute = {
  querystring: NoQuery,
  headers: Type.Object({ authorization: Type.Optional(Type.String({ maxLength: 100, refusal: 'the Authorization header is too long' })) }),
  response: { 200: Text('Prometheus text exposition format 0.0.4'), ...REFUSALS },
};

const HomeAssistantIntegration = {
  enabled: Type.Boolean(),
  shareNames: Type.Boolean(),
  /** Members whose latest weight Home Assistant shows (none by default). */
  weightMembers: Type.Array(Type.String()),
  username: Type.String(),
  port: Type.Integer(),
};

/** The settings page's Home Assistant switch (src/web/api/integrations.ts). */
export const HomeAssistantIntegrationRoute = {
  querystring: NoQuery,
  response: { 200: Type.Object(HomeAssistantIntegration), ...REFUSALS },
};

export const SetHomeAssistantIntegrationRoute = {
  querystring: NoQuery,
  body: Type.Object({ enabled: Type.Boolean(), shareNames: Type.Optional(Type.Boolean()) }, { additionalProperties: false, refusal: 'send { "enabled": true|false, "shareNames"?: true|false }' }),
  /** The password only when this request turned the integration on: shown once. */
  response: { 200: Type.Object({ ...HomeAssistantIntegration, password: Type.Optional(Type.String()) }), ...REFUSALS },
};

/** One member's "share weight with Home Assistant" switch. */
export const ShareWeightRoute = {
  querystring: NoQuery,
  params: MemberIdParams,
  body: Type.Object({ share: Type.Boolean() }, { additionalProperties: false, refusal: 'send { "share": true|false }' }),
  response: { 200: Type.Object(HomeAssistantIntegration), ...REFUSALS },
};

export const LoginRoute = {
  querystring: NoQuery,
  body: Type.Object({ password: Type.String({ minLength: 1, maxLength: 256, refusal: 'a password is required' }) }, { additionalProperties: false, refusal: 'a password is required' }),
  response: { 200: Type.Object({ ok: Type.Literal(true), csrfToken: Type.String() }), ...REFUSALS },
};

export const SessionRoute = {
  querystring: NoQuery,
  response: { 200: Type.Object({ csrfToken: Type.String() }), ...REFUSALS },
};

export const LogoutRoute = {
  querystring: NoQuery,
  body: NoBody,
  response: { 200: Type.Object({ ok: Type.Literal(true) }), ...REFUSALS },
};

// ---- dashboard and devices (src/web/api/routes.ts) ----

export const StatusRoute = {
  querystring: NoQuery,
  response: {
    200: Type.Object({
      upstream: Type.Object({ state: OneOf(['on', 'paused-by-switch', 'paused', 'off']), detail: Type.String() }),
      privacy: Type.Object({ paused: Type.Boolean(), pausedBySwitch: Type.Boolean(), pausedByCommand: Type.Boolean() }),
      storage: Type.Object({ healthy: Type.Boolean(), problem: Nullable(Type.String()), lowDisk: Type.Optional(Type.Boolean()), diskFreeBytes: Type.Optional(Nullable(Type.Number())) }),
      today: Type.Object({ events: Type.Integer(), weighIns: Type.Integer() }),
      devices: Type.Object({ cameras: Type.Integer(), scales: Type.Integer(), online: Type.Integer() }),
    }),
    ...REFUSALS,
  },
};

const DeviceSummary = {
  id: Type.String(),
  kind: Type.String(),
  nickname: Type.String(),
  createdAt: Type.Number(),
  online: Nullable(Type.Boolean()),
  lastSeen: Nullable(Type.Number()),
  eventsToday: Type.Integer(),
};

export const DevicesRoute = {
  querystring: NoQuery,
  response: { 200: Type.Object({ devices: Type.Array(Type.Object(DeviceSummary)) }), ...REFUSALS },
};

/** A device timeline's filters; since/until are other names of from/to. */
const TIMELINE_NUMBERS = 'from, to and limit must be whole numbers (milliseconds, 1–500)';
export const TimelineQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ pattern: QUERY_MS_PATTERN, refusal: TIMELINE_NUMBERS })),
    to: Type.Optional(Type.String({ pattern: QUERY_MS_PATTERN, refusal: TIMELINE_NUMBERS })),
    since: Type.Optional(Type.String({ pattern: QUERY_MS_PATTERN, refusal: TIMELINE_NUMBERS })),
    until: Type.Optional(Type.String({ pattern: QUERY_MS_PATTERN, refusal: TIMELINE_NUMBERS })),
    limit: Type.Optional(Type.String({ pattern: QUERY_LIMIT_500_PATTERN, refusal: TIMELINE_NUMBERS })),
    type: Type.Optional(Type.String({ pattern: `^(${EVENT_TYPE_PATTERN.source.slice(1, -1)})?$`, refusal: 'type must be an event type such as motion' })),
  },
  { additionalProperties: false },
);

/** Events per type: only keys shaped like an event type leave. */
const EventCounts = Type.Record(Type.String({ pattern: EVENT_TYPE_PATTERN.source }), Type.Integer());

const Timeline = {
  events: Type.Array(Type.Object({ type: Type.String(), at: Type.Number(), detail: Nullable(Type.String()) })),
  types: Type.Array(Type.String()),
};

export const DeviceRoute = {
  params: DeviceIdParams,
  querystring: TimelineQuery,
  response: {
    200: Type.Object({
      device: Type.Object({
        ...DeviceSummary,
        // A camera's decrypted state; a scale has none of these.
        profile: Type.Optional(Type.String()),
        // The NVR that reports this camera (a Frigate camera), or null.
        parent: Type.Optional(Nullable(Type.String())),
        model: Type.Optional(Nullable(Type.String())),
        firmware: Type.Optional(Nullable(Type.String())),
        ssid: Type.Optional(Nullable(Type.String())),
        ip: Type.Optional(Nullable(Type.String())),
        rssi: Type.Optional(Nullable(Type.Number())),
        // A scale's battery level (percent) and when it was read, when it reported one.
        battery: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 100 }))),
        batteryAt: Type.Optional(Nullable(Type.Number())),
        eventCounts: Type.Optional(EventCounts),
        // The last refused input: the hub's reason code, when, how many in all; never payload data.
        lastRefusal: Type.Optional(Nullable(Type.Object({ reason: Type.String({ pattern: '^[a-z][a-z0-9_]{0,47}$' }), at: Type.Number(), count: Type.Integer() }))),
      }),
      ...Timeline,
    }),
    ...REFUSALS,
  },
};

export const DeviceEventsRoute = {
  params: DeviceIdParams,
  querystring: TimelineQuery,
  response: { 200: Type.Object(Timeline), ...REFUSALS },
};

/** A device's per-day counts by type from the roll-ups: the days whose raw events the retention removed. */
export const DeviceDaysRoute = {
  params: DeviceIdParams,
  querystring: NoQuery,
  response: { 200: Type.Object({ days: Type.Array(Type.Object({ day: Type.String(), type: Type.String(), n: Type.Integer() })) }), ...REFUSALS },
};

export const EnrolRoute = {
  params: Type.Object({ kind: Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' }) }),
  querystring: NoQuery,
  // The kind checks its own fields (DeviceKindPlugin.prepareEnrolment); here only their shape.
  body: Type.Record(Type.String({ pattern: '^[a-zA-Z][a-zA-Z0-9]{0,31}$' }), Type.String({ maxLength: 256 }), { additionalProperties: false, maxProperties: 8, refusal: 'send the enrolment fields as a JSON object of short texts' }),
  response: {
    201: Type.Object({
      id: Type.String(),
      kind: Type.String(),
      nickname: Type.String(),
      // What a kind shows once (a camera's MQTT credentials); never stored in the clear.
      username: Type.Optional(Type.String()),
      password: Type.Optional(Type.String()),
      // A camera's profile and the topics it may use: hearth's own, or its firmware's under its topic.
      profile: Type.Optional(Type.String()),
      topic: Type.Optional(Type.String()),
      topics: Type.Optional(Type.Union([Type.Object({ status: Type.String(), event: Type.String(), commands: Type.String() }), Type.Object({ publish: Type.Array(Type.String()), subscribe: Type.Array(Type.String()) })])),
      // MQTT over TLS when the hub serves it: its port and the SHA-256 fingerprint of the hub's certificate.
      tls: Type.Optional(Type.Object({ port: Type.Integer(), fingerprint: Type.String() })),
    }),
    ...REFUSALS,
  },
};

// ---- members and weigh-ins ----

const Member = Type.Object({ id: Type.String(), name: Type.String() });

/** A weigh-in in a list: the weight only; the rest of the body composition is in the export. */
const MeasurementItem = Type.Object({
  id: Type.String(),
  deviceId: Type.String(),
  scale: Type.String(),
  memberId: Nullable(Type.String()),
  measuredAt: Type.Number(),
  weightKg: Nullable(Type.Number()),
});

export const MembersRoute = {
  querystring: NoQuery,
  response: { 200: Type.Object({ members: Type.Array(Member) }), ...REFUSALS },
};

export const AddMemberRoute = {
  querystring: NoQuery,
  // Its length and characters are the member rules' to judge (memberNameProblem), with their reasons.
  body: Type.Object({ name: Type.String({ refusal: 'name is required' }) }, { additionalProperties: false, refusal: 'name is required' }),
  response: { 201: Member, ...REFUSALS },
};

export const MemberHistoryRoute = {
  params: MemberIdParams,
  querystring: NoQuery,
  response: { 200: Type.Object({ member: Member, measurements: Type.Array(MeasurementItem) }), ...REFUSALS },
};

export const UnassignedRoute = {
  querystring: NoQuery,
  response: { 200: Type.Object({ measurements: Type.Array(MeasurementItem) }), ...REFUSALS },
};

const ASSIGN_REFUSAL = 'memberId must name a member (or be null to unassign)';
export const AssignRoute = {
  params: MeasurementIdParams,
  querystring: NoQuery,
  body: Type.Object({ memberId: Type.Union([Type.String({ pattern: MEMBER_ID_PATTERN.source }), Type.Null()], { refusal: ASSIGN_REFUSAL }) }, { additionalProperties: false, refusal: ASSIGN_REFUSAL }),
  response: { 200: Type.Object({ ok: Type.Literal(true) }), ...REFUSALS },
};

// ---- consent, preview, ledger, privacy, settings ----

export const ConsentRoute = {
  querystring: NoQuery,
  response: {
    200: Type.Object({
      categories: Type.Array(Type.Object({ category: Type.String(), enabled: Type.Boolean(), since: Nullable(Type.Number()), metrics: Type.Array(Type.Object({ name: Type.String(), help: Type.String() })) })),
    }),
    ...REFUSALS,
  },
};

export const SetConsentRoute = {
  params: Type.Object({ category: Type.Union(CATEGORIES.map((c) => Type.Literal(c)), { refusal: `unknown category; one of ${CATEGORIES.join(', ')}` }) }),
  querystring: NoQuery,
  body: Type.Object({ enabled: Type.Boolean({ refusal: 'enabled must be true or false' }) }, { additionalProperties: false, refusal: 'enabled must be true or false' }),
  response: { 200: Type.Object({ category: Type.String(), enabled: Type.Boolean(), changed: Type.Boolean(), droppedReports: Type.Integer() }), ...REFUSALS },
};

export const PreviewRoute = {
  querystring: NoQuery,
  response: { 200: Type.Object({ reports: Type.Array(Type.Object({ category: Type.String(), json: Type.String() })), note: Type.String() }), ...REFUSALS },
};

export const LedgerRoute = {
  querystring: Type.Object(
    {
      q: Type.Optional(Type.String({ maxLength: 200, refusal: 'q must be a short text' })),
      limit: Type.Optional(Type.String({ pattern: QUERY_LIMIT_1000_PATTERN, refusal: 'limit must be 1–1000' })),
    },
    { additionalProperties: false },
  ),
  response: {
    200: Type.Object({ entries: Type.Array(Type.Object({ reportId: Type.String(), topic: Type.String(), sentAt: Type.Number(), bytes: Type.Integer(), payload: Type.String() })), total: Type.Integer() }),
    ...REFUSALS,
  },
};

export const LedgerExportRoute = {
  querystring: NoQuery,
  response: {
    200: Type.Object({ exportedAt: Type.String(), entries: Type.Array(Type.Object({ seq: Type.Integer(), reportId: Type.String(), topic: Type.String(), sentAt: Type.String(), payload: Type.String() })) }),
    ...REFUSALS,
  },
};

export const PrivacyRoute = {
  querystring: NoQuery,
  body: Type.Object({ paused: Type.Boolean({ refusal: 'paused must be true or false' }) }, { additionalProperties: false, refusal: 'paused must be true or false' }),
  response: { 200: Type.Object({ paused: Type.Boolean() }), ...REFUSALS },
};

/** The uplink settings the page edits. */
const UplinkSettings = {
  url: Nullable(Type.String()),
  windowSeconds: Type.Number(),
  questionsPerDay: Type.Number(),
  dailyEpsilonBudget: Type.Number(),
};
const SavedSettings = Type.Partial(Type.Object(UplinkSettings));

export const SettingsRoute = {
  querystring: NoQuery,
  response: { 200: Type.Object({ uplink: Type.Object(UplinkSettings), saved: SavedSettings, note: Type.String() }), ...REFUSALS },
};

// Values are checked by the config file's own rules (checkSetting), which say what is wrong.
const SettingValue = Type.Union([Type.String({ maxLength: 2048 }), Type.Number(), Type.Boolean(), Type.Null()]);
export const SetSettingsRoute = {
  querystring: NoQuery,
  body: Type.Object(
    { uplink: Type.Object({ url: Type.Optional(SettingValue), windowSeconds: Type.Optional(SettingValue), questionsPerDay: Type.Optional(SettingValue), dailyEpsilonBudget: Type.Optional(SettingValue) }, { additionalProperties: false, refusal: 'send { "uplink": { ... } }' }) },
    { additionalProperties: false, refusal: 'send { "uplink": { ... } }' },
  ),
  response: { 200: Type.Object({ saved: SavedSettings, note: Type.String() }), ...REFUSALS },
};

// ---- export and forget (src/web/api/export.ts) ----

/** Everything a weigh-in holds, decrypted: an export leaves nothing out. */
export const MeasurementValues = Type.Object({
  format: Type.String(),
  unit: Type.String(),
  weightKg: Nullable(Type.Number()),
  weightReported: Nullable(Type.Number()),
  heightM: Nullable(Type.Number()),
  bmi: Nullable(Type.Number()),
  bodyFatPercent: Nullable(Type.Number()),
  basalMetabolismKj: Nullable(Type.Number()),
  musclePercent: Nullable(Type.Number()),
  muscleMassKg: Nullable(Type.Number()),
  fatFreeMassKg: Nullable(Type.Number()),
  softLeanMassKg: Nullable(Type.Number()),
  bodyWaterMassKg: Nullable(Type.Number()),
  impedanceOhm: Nullable(Type.Number()),
  scaleTime: Nullable(Type.String()),
  userId: Nullable(Type.Number()),
  stabilized: Type.Boolean(),
  weightRemoved: Type.Boolean(),
});

const StoredMeasurement = Type.Object({
  id: Type.String(),
  deviceId: Type.String(),
  memberId: Nullable(Type.String()),
  assignment: Type.String(),
  measuredAt: Type.Number(),
  measurement: MeasurementValues,
});

const ExportedAt = Type.String();

export const ExportDeviceRoute = {
  params: DeviceIdParams,
  querystring: NoQuery,
  response: {
    200: Type.Object({
      exportedAt: ExportedAt,
      device: Type.Object({ id: Type.String(), kind: Type.String(), nickname: Type.String(), createdAt: Type.Number() }),
      state: Type.Optional(
        Type.Object({
          id: Type.String(),
          model: Nullable(Type.String()),
          firmware: Nullable(Type.String()),
          ssid: Nullable(Type.String()),
          ip: Nullable(Type.String()),
          rssi: Nullable(Type.Number()),
          online: Type.Boolean(),
          lastSeen: Nullable(Type.Number()),
          eventCounts: EventCounts,
        }),
      ),
      events: Type.Array(Type.Object({ type: Type.String(), ts: Type.Number(), receivedAt: Type.Number(), detail: Nullable(Type.String()) })),
      measurements: Type.Array(StoredMeasurement),
    }),
    ...REFUSALS,
  },
};

export const ExportMemberRoute = {
  params: MemberIdParams,
  querystring: NoQuery,
  response: {
    200: Type.Object({ exportedAt: ExportedAt, member: Type.Object({ id: Type.String(), name: Type.String(), createdAt: Type.Number() }), measurements: Type.Array(StoredMeasurement) }),
    ...REFUSALS,
  },
};

export const NOT_CONFIRMED = 'send { "confirm": true } to delete for good';
const Forgotten = Type.Object({ forgotten: Type.String() });

/** POST: the body confirms. */
export const ForgetRoute = (params: typeof DeviceIdParams | typeof MemberIdParams) => ({
  params,
  querystring: NoQuery,
  body: Nullable(Type.Object({ confirm: Type.Optional(Type.Boolean({ refusal: NOT_CONFIRMED })) }, { additionalProperties: false })),
  response: { 200: Forgotten, ...REFUSALS },
});

/** DELETE: the method confirms; a body is not looked at. */
export const ForgetByDeleteRoute = (params: typeof DeviceIdParams | typeof MemberIdParams) => ({
  params,
  querystring: NoQuery,
  body: NoBody,
  response: { 200: Forgotten, ...REFUSALS },
});

// ---- live events (src/web/api/live.ts) ----

export const LiveEventsRoute = {
  querystring: NoQuery,
  response: { 200: Text('text/event-stream of { type, deviceId?, online?, eventType?, at }'), ...REFUSALS },
};

// ---- pages and assets (src/web/pages/) ----

export const PageRoute = {
  querystring: PageQuery,
  response: { 200: Text('an HTML page'), ...REFUSALS },
};

export const DevicePageRoute = {
  params: DeviceIdParams,
  querystring: PageQuery,
  response: { 200: Text('an HTML page'), ...REFUSALS },
};

/** A device's events per day over the last year (all-time counts from the roll-ups), as SVG. */
export const DeviceActivityChartRoute = {
  params: DeviceIdParams,
  querystring: Type.Object({ v: Type.Optional(Type.String({ pattern: '^[0-9]{1,16}$' })) }, { additionalProperties: false }),
  response: { 200: Text('an SVG chart'), ...REFUSALS },
};

/** /cameras/:id and /scales/:id lead to the device page. */
export const DeviceRedirectRoute = {
  params: DeviceIdParams,
  querystring: PageQuery,
  // 302 to /devices/:id, no body.
  response: { ...REFUSALS },
};

export const WeightChartRoute = {
  params: MemberIdParams,
  // The page adds ?v=<time> so a redrawn chart is not taken from the cache.
  querystring: Type.Object({ v: Type.Optional(Type.String({ pattern: '^[0-9]{1,16}$' })) }, { additionalProperties: false }),
  response: { 200: Text('an SVG chart'), ...REFUSALS },
};

/** Credentials shown once and drawn as a QR code: short, no control characters. */
const CREDENTIAL_REFUSAL = 'username and password (short strings) are required';
const Credential = Type.String({ pattern: '^[^\\u0000-\\u001f\\u007f]{1,128}$', refusal: CREDENTIAL_REFUSAL });
export const EnrolQrRoute = {
  querystring: NoQuery,
  body: Type.Object({ username: Credential, password: Credential }, { additionalProperties: false, refusal: CREDENTIAL_REFUSAL }),
  response: { 200: Text('an SVG QR code'), ...REFUSALS },
};

const PurgeReport = Type.Object({
  startedAt: Type.Number(),
  finishedAt: Type.Number(),
  events: Type.Integer(),
  measurements: Type.Integer(),
  ledger: Type.Integer(),
  pagesReleased: Type.Integer(),
  chunks: Type.Integer(),
  longestChunkMs: Type.Number(),
  /** Absent in reports of purges made before it was measured. */
  busyMs: Type.Optional(Type.Number()),
});

/** What the database holds and how big it is (`hearth db stats`), with the retention settings. */
export const DbStatsRoute = {
  querystring: NoQuery,
  response: {
    200: Type.Object({
      databaseBytes: Type.Integer(),
      walBytes: Type.Integer(),
      freePages: Type.Integer(),
      pageSize: Type.Integer(),
      rows: Type.Record(Type.String({ pattern: '^[a-z_]{1,64}$' }), Type.Integer()),
      oldestEventAt: Nullable(Type.Number()),
      bytesPerEvent: Nullable(Type.Integer()),
      diskFreeBytes: Nullable(Type.Number()),
      lowDisk: Type.Boolean(),
      lastPurge: Nullable(PurgeReport),
      retention: Type.Object({ eventDays: Type.Integer(), measurementDays: Type.Integer(), ledgerDays: Type.Integer(), lowDiskMb: Type.Integer() }),
    }),
    ...REFUSALS,
  },
};

/** Apply the retention settings now (the hub also does on its own timer); answers what was removed. */
export const DbPurgeRoute = {
  querystring: NoQuery,
  body: NoBody,
  response: { 200: PurgeReport, ...REFUSALS },
};
