/**
 * Versioned schema migrations. Each concern owns a block of version numbers so work on different
 * concerns never collides: 1–9 foundation, 10–19 metrics/uplink, 20–29 scales and members,
 * 30–39 web UI, 40–49 hardware/ops, 50–59 reliability, 60–69 retention and history. Applied versions are recorded one by one,
 * so a migration is applied exactly once whatever order the blocks were added in.
 * Never edit a migration that has shipped; add a new one.
 */
import type Database from 'better-sqlite3';
import { META_KEYS } from './meta-keys.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** For the rare change plain SQL cannot make; runs inside the migrations' transaction after sql. */
  apply?(db: Database.Database): void;
}

/** The devices table's kind CHECK as migration 1 wrote it, and what replaces it. */
const KIND_CHECK_V1 = "CHECK (kind IN ('camera', 'scale'))";
const KIND_CHECK_ANY = "CHECK (kind GLOB '[a-z]*' AND length(kind) <= 32)";

/**
 * Drops a table CHECK without rebuilding the table, as SQLite documents for changes that leave the
 * stored format alone: the schema text is edited and the schema version bumped, in the same
 * transaction. (Rebuilding devices would cascade-delete every row that references it.)
 */
function replaceTableCheck(db: Database.Database, table: string, from: string, to: string): void {
  const sql = db.prepare("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?").pluck().get(table) as string | undefined;
  if (!sql?.includes(from)) return; // created by a later migration 1, or already changed
  const version = db.pragma('schema_version', { simple: true }) as number;
  db.unsafeMode(true);
  try {
    db.pragma('writable_schema = ON');
    db.prepare("UPDATE sqlite_schema SET sql = ? WHERE type = 'table' AND name = ?").run(sql.replace(from, to), table);
    db.pragma(`schema_version = ${version + 1}`);
    db.pragma('writable_schema = OFF');
  } finally {
    db.unsafeMode(false);
  }
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'foundation',
    sql: `
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value BLOB NOT NULL
      ) STRICT;

      -- One row per enrolled device of any kind. Personal values are sealed BLOBs.
      CREATE TABLE devices (
        id           TEXT PRIMARY KEY,
        kind         TEXT NOT NULL CHECK (kind IN ('camera', 'scale')),
        nickname     BLOB NOT NULL,
        secret_hash  TEXT,
        lookup_tag   TEXT UNIQUE,
        created_at   INTEGER NOT NULL
      ) STRICT;

      -- Latest reported state of a camera; the state BLOB is sealed JSON.
      CREATE TABLE camera_state (
        device_id   TEXT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
        state       BLOB,
        online      INTEGER NOT NULL DEFAULT 0,
        last_seen   INTEGER,
        updated_at  INTEGER NOT NULL
      ) STRICT;

      -- Everything a device reported that happened. type and times are not personal; detail is sealed.
      CREATE TABLE events (
        id           INTEGER PRIMARY KEY,
        device_id    TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        type         TEXT NOT NULL,
        ts           INTEGER NOT NULL,
        received_at  INTEGER NOT NULL,
        detail       BLOB
      ) STRICT;
      CREATE INDEX events_by_device ON events(device_id, type);
      CREATE INDEX events_by_time ON events(received_at);

      -- Durable counters of refused input and other operational figures (no personal values).
      CREATE TABLE counters (
        name   TEXT PRIMARY KEY,
        value  INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'events: per-device totals instead of an index by device (see store/event-totals.ts)',
    sql: `
      -- Events are appended in id order only; an index by device cost a page write per camera per commit.
      DROP INDEX events_by_device;

      -- Counts and latest arrival per device and type, of every event with id <= event_totals_through.id.
      CREATE TABLE event_totals (
        device_id         TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        type              TEXT NOT NULL,
        n                 INTEGER NOT NULL,
        last_received_at  INTEGER NOT NULL,
        PRIMARY KEY (device_id, type)
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE event_totals_through (
        id  INTEGER NOT NULL
      ) STRICT;
      INSERT INTO event_totals SELECT device_id, type, COUNT(*), MAX(received_at) FROM events WHERE true GROUP BY device_id, type;
      INSERT INTO event_totals_through SELECT COALESCE(MAX(id), 0) FROM events;

      -- A deleted event that was counted comes off its total; when the largest ids go, the mark
      -- follows, so an id handed out again is never taken for one already counted.
      CREATE TRIGGER events_deleted AFTER DELETE ON events BEGIN
        UPDATE event_totals SET n = n - 1
          WHERE device_id = OLD.device_id AND type = OLD.type AND OLD.id <= (SELECT id FROM event_totals_through);
        UPDATE event_totals_through SET id = (SELECT COALESCE(MAX(id), 0) FROM events) WHERE id > (SELECT COALESCE(MAX(id), 0) FROM events);
      END;

      -- Connection changes are few: indexed by device for "was it online at time t" (metrics).
      CREATE INDEX events_presence ON events(device_id, received_at) WHERE type IN ('online', 'offline');
    `,
  },
  {
    version: 3,
    name: 'devices: any registered kind (kinds are plugins; the code checks the name)',
    sql: '',
    apply: (db) => replaceTableCheck(db, 'devices', KIND_CHECK_V1, KIND_CHECK_ANY),
  },
  {
    version: 4,
    name: 'device_refusals',
    sql: `
      -- Each device's last refused input (a publish, or a login with its id): the hub's reason code
      -- (e.g. event_bad_ts; never payload data), when, and how many refusals in all. Shown to the
      -- household next to the device; goes with the device.
      CREATE TABLE device_refusals (
        device_id  TEXT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
        reason     TEXT NOT NULL,
        at         INTEGER NOT NULL,
        count      INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 10,
    name: 'upstream: consent, privacy budget, report outbox, privacy ledger',
    sql: `
      -- Current consent per upstream category (absent row = off) and every change with its time.
      CREATE TABLE consent (
        category    TEXT PRIMARY KEY,
        enabled     INTEGER NOT NULL CHECK (enabled IN (0, 1)),
        changed_at  INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE consent_changes (
        id          INTEGER PRIMARY KEY,
        category    TEXT NOT NULL,
        enabled     INTEGER NOT NULL CHECK (enabled IN (0, 1)),
        changed_at  INTEGER NOT NULL
      ) STRICT;

      -- Differential-privacy budget spent per UTC day and category.
      CREATE TABLE privacy_budget (
        day            TEXT NOT NULL,
        category       TEXT NOT NULL,
        epsilon_spent  REAL NOT NULL,
        PRIMARY KEY (day, category)
      ) STRICT;

      -- Signed reports waiting for the upstream broker's PUBACK (store-and-forward).
      CREATE TABLE report_outbox (
        id          TEXT PRIMARY KEY,
        category    TEXT NOT NULL,
        topic       TEXT NOT NULL,
        payload     BLOB NOT NULL,
        created_at  INTEGER NOT NULL,
        attempts    INTEGER NOT NULL DEFAULT 0
      ) STRICT;
      CREATE INDEX report_outbox_by_time ON report_outbox(created_at);

      -- Every message that ever left the hub: exact bytes and time. Append-only.
      CREATE TABLE privacy_ledger (
        id          INTEGER PRIMARY KEY,
        report_id   TEXT NOT NULL,
        topic       TEXT NOT NULL,
        payload     BLOB NOT NULL,
        sent_at     INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 11,
    name: 'upstream, format 2: one daily epsilon budget for the home, sealed memos of stable answers',
    sql: `
      -- Epsilon spent per UTC day by the whole home, over all categories (format 2 reports).
      CREATE TABLE privacy_budget_home (
        day            TEXT PRIMARY KEY,
        epsilon_spent  REAL NOT NULL
      ) STRICT;

      -- Per question: the memoized answers of a stable value and its secret rounding offset or bucket
      -- order (sealed JSON). Without it a repeated value would be randomized afresh every day.
      CREATE TABLE ldp_memos (
        question  TEXT PRIMARY KEY,
        state     BLOB NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 20,
    name: 'scales and household members: sealed scale addresses, members, sealed measurements',
    sql: `
      -- Household members. The name is sealed; name_tag is its keyed blind index, for lookups by name.
      CREATE TABLE members (
        id          TEXT PRIMARY KEY,
        name        BLOB NOT NULL,
        name_tag    TEXT NOT NULL UNIQUE,
        created_at  INTEGER NOT NULL
      ) STRICT;

      -- Enrolled scales (kind 'scale' in devices). The Bluetooth address is sealed; its blind
      -- index is the device's lookup_tag.
      CREATE TABLE scales (
        device_id  TEXT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
        address    BLOB NOT NULL
      ) STRICT;

      -- One row per weigh-in. Time and member stay plain (to list, count and assign); every body
      -- value is inside the sealed metrics.
      CREATE TABLE measurements (
        id           TEXT PRIMARY KEY,
        device_id    TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        member_id    TEXT REFERENCES members(id) ON DELETE SET NULL,
        assignment   TEXT NOT NULL CHECK (assignment IN ('auto', 'manual', 'unassigned')),
        measured_at  INTEGER NOT NULL,
        metrics      BLOB NOT NULL
      ) STRICT;
      CREATE INDEX measurements_by_member ON measurements(member_id, measured_at);
      CREATE INDEX measurements_by_time ON measurements(measured_at);
    `,
  },
  {
    version: 21,
    name: 'ha_weight_sharing: members whose weight the household shares with Home Assistant',
    sql: `
      -- Off unless a row is here (turned on per member); goes with the member.
      CREATE TABLE ha_weight_sharing (
        member_id  TEXT PRIMARY KEY REFERENCES members(id) ON DELETE CASCADE,
        since      INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 22,
    name: "scales: the battery level a scale reported (GATT Battery Level), when it was read",
    sql: `
      -- Percent, 0-100, and when it was read; NULL until the scale reported one. Not personal.
      ALTER TABLE scales ADD COLUMN battery_percent INTEGER;
      ALTER TABLE scales ADD COLUMN battery_at INTEGER;
    `,
  },
  {
    version: 5,
    name: 'camera_profiles and the cameras an NVR reports',
    sql: `
      -- A camera that speaks its own firmware's MQTT layout: the profile (plain, not personal) and
      -- the topic root typed into the camera (sealed: a hostname or MAC often names the household's
      -- devices). A camera without a row speaks hearth's own protocol.
      CREATE TABLE camera_profiles (
        device_id  TEXT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
        profile    TEXT NOT NULL,
        topic      BLOB NOT NULL
      ) STRICT;

      -- The cameras an NVR (Frigate) reports, each a camera device of its own (its nickname, the
      -- NVR's name for it, sealed as every nickname is). They go when the NVR goes.
      CREATE TABLE camera_children (
        device_id  TEXT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
        parent_id  TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE
      ) STRICT;
      CREATE INDEX camera_children_by_parent ON camera_children(parent_id);
      CREATE TRIGGER camera_parent_removed AFTER DELETE ON camera_children BEGIN
        DELETE FROM devices WHERE id = OLD.device_id;
      END;
    `,
  },
  {
    version: 60,
    name: 'event_days: per-device, per-day counts of events by type, kept after raw events are purged',
    sql: `
      -- Written by the retention purge just before it deletes the raw events of a day (UTC day
      -- number: received_at / 86400000); goes with the device. Counts only, nothing personal.
      CREATE TABLE event_days (
        device_id  TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        day        INTEGER NOT NULL,
        type       TEXT NOT NULL,
        n          INTEGER NOT NULL,
        PRIMARY KEY (device_id, day, type)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 62,
    name: 'event_days: the per-day counts of every event, kept as events arrive (not only when the purge deletes them)',
    sql: `
      -- Until now event_days held only purged events. From here the writer folds every event into
      -- it (event-totals.ts); the events already counted in event_totals are added once here. The
      -- rows present are purged events, disjoint from the events still in the table.
      INSERT INTO event_days (device_id, day, type, n)
        SELECT device_id, received_at / 86400000, type, COUNT(*) FROM events
         WHERE id <= (SELECT id FROM event_totals_through) GROUP BY 1, 2, 3
      ON CONFLICT (device_id, day, type) DO UPDATE SET n = n + excluded.n;
    `,
  },
  {
    version: 63,
    name: 'meta: a database without sealed event details needs no re-sealing pass for them',
    sql: `
      -- Event details are sealed with their camera since this version (camera/store.ts); the
      -- daemon re-seals older ones once, at start. A database with none (a new one) is marked done,
      -- so the pass never walks its events.
      INSERT INTO meta (key, value)
        SELECT '${META_KEYS.eventDetailsBound}', x'31'
         WHERE NOT EXISTS (SELECT 1 FROM events WHERE detail IS NOT NULL)
      ON CONFLICT (key) DO NOTHING;
    `,
  },
  {
    version: 61,
    name: 'events: an index by type and receive time for filtered timelines',
    sql: `
      -- A timeline filtered by type (?type=reboot) read only that type's entries, newest first,
      -- instead of walking every event by time. Cheap to keep: it is appended to at one point per
      -- event type (a handful), not per device (see event-totals.ts for the index that was not).
      CREATE INDEX events_by_type_time ON events(type, received_at);
    `,
  },
  {
    version: 50,
    name: 'device_removals: which devices were removed, so a running daemon hears of every removal',
    sql: `
      -- A device enrolled and removed by the CLI between two of the daemon's looks at the database
      -- was in neither list it compared, so its camera stayed connected and open pages were not
      -- told. The removal writes its id here in the transaction that deletes it; the daemon reads
      -- what came after the last entry it saw. Ids are random and carry nothing personal; entries
      -- older than a week are pruned by later removals.
      CREATE TABLE device_removals (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        device_id  TEXT NOT NULL,
        kind       TEXT NOT NULL,
        removed_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 64,
    name: 'events_deleted: bulk deletions adjust the totals once, not per row',
    sql: `
      -- The per-row trigger doubled what deleting an event costs (a purge of 90 days held the loop
      -- ~1.3 s in all). A purge or a device removal marks its transaction in event_bulk_delete,
      -- takes the totals off in one grouped statement and moves the mark once (event-totals.ts,
      -- BulkEventDelete); the trigger stands aside while the mark row exists. The row is added and
      -- removed inside that one write transaction, so no other connection ever sees it.
      CREATE TABLE event_bulk_delete (active INTEGER NOT NULL) STRICT;
      DROP TRIGGER events_deleted;
      CREATE TRIGGER events_deleted AFTER DELETE ON events WHEN NOT EXISTS (SELECT 1 FROM event_bulk_delete) BEGIN
        UPDATE event_totals SET n = n - 1
          WHERE device_id = OLD.device_id AND type = OLD.type AND OLD.id <= (SELECT id FROM event_totals_through);
        UPDATE event_totals_through SET id = (SELECT COALESCE(MAX(id), 0) FROM events) WHERE id > (SELECT COALESCE(MAX(id), 0) FROM events);
      END;
    `,
  },
];
