/**
 * A real, throwaway PostgreSQL cluster for tests and benchmarks: initdb into a temp dir, pg_ctl on a
 * free loopback port, trust authentication for the one user `hearth`. PostgreSQL refuses to run as
 * root, so as root the cluster runs as `nobody` (the temp dir is handed to it).
 *
 * Plain JavaScript so that the collector benchmark (bench/collector.mjs) uses the same cluster.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';


const PG_BIN = process.env.HEARTH_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const RUN_AS = 'nobody';

/**
 * @typedef {object} TestPostgres
 * @property {number} port
 * @property {(database?: string) => string} url  connection URL of a database (default: the maintenance database `postgres`)
 * @property {(name: string) => Promise<string>} createDatabase  creates a fresh empty database and returns its URL
 * @property {string} dataDir  the cluster's data directory
 * @property {() => Promise<void>} pause  stops the server (fast shutdown), keeping its data
 * @property {() => Promise<void>} resume  starts it again on the same port
 * @property {() => Promise<void>} stop
 */

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = /** @type {import('node:net').AddressInfo} */ (srv.address()).port;
      srv.close(() => resolve(port));
    });
  });
}

/** @param {string} cmd @param {string[]} args */
export function asClusterUser(cmd, args) {
  const asRoot = process.getuid?.() === 0;
  const [file, argv] = asRoot ? ['runuser', ['-u', RUN_AS, '--', cmd, ...args]] : [cmd, args];
  return execFileSync(file, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
}

function nobodyIds() {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${RUN_AS}:`));
  if (!line) throw new Error(`no ${RUN_AS} user to run PostgreSQL as`);
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}


/**
 * @param {{ settings?: Record<string, string> }} [opts]  extra `-c name=value` server settings; tests
 *   turn fsync off for speed, the benchmark keeps it on
 * @returns {Promise<TestPostgres>}
 */
export async function startPostgres(opts = {}) {
  if (!existsSync(join(PG_BIN, 'initdb'))) throw new Error(`PostgreSQL not found in ${PG_BIN} (Debian package postgresql)`);
  const dir = mkdtempSync(join(tmpdir(), 'hearth-pg-'));
  if (process.getuid?.() === 0) {
    const { uid, gid } = nobodyIds();
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  asClusterUser(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'hearth', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const port = await freePort();
  const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: dir, max_connections: '100', ...opts.settings };
  const serverOpts = [`-p ${port}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(' ');
  const startServer = () => asClusterUser(join(PG_BIN, 'pg_ctl'), ['-D', data, '-o', serverOpts, '-l', join(dir, 'server.log'), '-w', '-t', '30', 'start']);
  startServer();
  const url = (/** @type {string} */ database = 'postgres') => `postgres://hearth@127.0.0.1:${port}/${database}`;
  let stopped = false;
  return {
    port,
    url,
    dataDir: data,
    async createDatabase(/** @type {string} */ name) {
      const client = new pg.Client({ connectionString: url() });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name.replace(/[^a-z0-9_]/gi, '_')}"`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    async pause() {
      asClusterUser(join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
    },
    async resume() {
      startServer();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        if (existsSync(join(data, 'postmaster.pid'))) asClusterUser(join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
