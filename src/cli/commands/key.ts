/**
 * `hearth key rotate`: re-seal everything under a new master key (see store/key-rotation.ts).
 */
import { accessSync, constants } from 'node:fs';
import { dirname } from 'node:path';
import { acquirePidLock, AlreadyRunningError } from '../../hub/pid-lock.js';
import { rotateKey } from '../../store/key-rotation.js';
import { SEALED_SCHEMA } from '../../hub/catalog.js';
import { keyFileFingerprint, keyLocation } from '../../crypto/keys.js';
import { loadSodium } from '../../crypto/sodium.js';
import { openVault } from '../../store/vault.js';
import { UsageError, type CommandSpec } from '../command.js';

const rotate: CommandSpec = {
  name: 'key rotate',
  usage: '[--data-dir DIR] [--json]',
  summary: 're-seal every stored value under a new master key; the old one is kept (dated) for older backups',
  async run(ctx) {
    const config = ctx.config();
    let release: () => void;
    try {
      // Holding the daemon's lock keeps a daemon from starting halfway through.
      release = acquirePidLock(config.dataDir);
    } catch (err) {
      if (err instanceof AlreadyRunningError) throw new UsageError(`${err.message}; stop it first (e.g. systemctl stop hearth)`, 1);
      throw err;
    }
    try {
      const vault = await openVault(config.dataDir, ctx.env);
      try {
        try {
          accessSync(dirname(vault.key.path), constants.W_OK);
        } catch {
          throw new UsageError(`cannot write beside the key (${vault.key.path}); run as the key's owner`, 1);
        }
        const result = rotateKey(vault.db, vault.sodium, vault.sealer, vault.key.path, (p) => ctx.progress.update(`re-sealing ${p.table}.${p.column}`, p.done, p.total), SEALED_SCHEMA);
        ctx.progress.end();
        if (ctx.flags.json) ctx.out(JSON.stringify({ rotated: true, keyPath: vault.key.path, ...result }));
        else {
          ctx.out(`rotated: ${result.resealed} sealed values re-sealed under a new key at ${vault.key.path}`);
          ctx.out(`  new key fingerprint:      ${result.fingerprint}`);
          ctx.out(`  previous key kept as:     ${result.previousKeyPath} (mode 0600; fingerprint ${result.previousFingerprint})`);
          ctx.out('Backups taken before now are sealed with the previous key: `hearth restore` finds it there and');
          ctx.out('re-seals such a backup under the current key. Keep it (and a copy with those backups) as long as');
          ctx.out('you keep them. Back up the new key now; the previous key no longer opens this database.');
        }
        return 0;
      } finally {
        vault.close();
      }
    } finally {
      release();
    }
  },
};

const fingerprint: CommandSpec = {
  name: 'key fingerprint',
  usage: '[--data-dir DIR] [--key FILE] [--json]',
  summary: "print the master key's fingerprint (the name backups and `hearth restore` give the key they need)",
  async run(ctx) {
    const config = ctx.config();
    const sodium = await loadSodium();
    const file = typeof ctx.flags.key === 'string' ? ctx.flags.key : keyLocation(config.dataDir, ctx.env).path;
    const fp = keyFileFingerprint(sodium, file);
    if (ctx.flags.json) ctx.out(JSON.stringify({ keyPath: file, fingerprint: fp }));
    else ctx.out(`${fp}  ${file}`);
    return 0;
  },
};

export const keyCommands: CommandSpec[] = [rotate, fingerprint];
