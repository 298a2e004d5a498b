/**
 * Argon2id in a worker thread: same results as the in-thread functions, the event loop stays free
 * while it works, a flood is refused beyond the queue bound, and the idle worker goes away.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PasswordWorker, PasswordWorkerBusyError } from '../src/crypto/password-worker.js';
import { generateDevicePassword, hashPassword, verifyPassword } from '../src/crypto/password.js';
import { loadSodium } from '../src/crypto/sodium.js';

const workers: PasswordWorker[] = [];
afterEach(async () => {
  for (const w of workers.splice(0)) await w.close();
});

async function make(opts: ConstructorParameters<typeof PasswordWorker>[1] = {}) {
  const sodium = await loadSodium();
  const w = new PasswordWorker(sodium, opts);
  workers.push(w);
  return { sodium, w };
}

describe('PasswordWorker', () => {
  it('verifies hashes made in-thread, and its hashes verify in-thread', async () => {
    const { sodium, w } = await make();
    const secret = generateDevicePassword();
    const inThread = hashPassword(sodium, secret, 'device');
    expect(await w.verify(inThread, secret)).toBe(true);
    expect(await w.verify(inThread, secret + 'x')).toBe(false);
    expect(await w.verify('not a hash', secret)).toBe(false);
    const fromWorker = await w.hash(secret, 'device');
    expect(fromWorker).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(verifyPassword(sodium, fromWorker, secret)).toBe(true);
  });

  it('leaves the event loop free while it hashes', async () => {
    const { sodium, w } = await make();
    const hash = hashPassword(sodium, 'a secret', 'device');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    await Promise.all([w.verify(hash, 'a secret'), w.verify(hash, 'a secret'), w.verify(hash, 'wrong')]);
    clearInterval(timer);
    // Three Argon2id checks take well over the few milliseconds a blocked loop would allow to tick.
    expect(ticks).toBeGreaterThan(3);
  });

  it('refuses jobs beyond its queue bound instead of queueing a flood', async () => {
    const { sodium, w } = await make({ maxPending: 2 });
    const hash = hashPassword(sodium, 's', 'device');
    const first = [w.verify(hash, 's'), w.verify(hash, 's')];
    await expect(w.verify(hash, 's')).rejects.toBeInstanceOf(PasswordWorkerBusyError);
    expect(await Promise.all(first)).toEqual([true, true]);
  });

  it('ends the idle worker, and starts a new one for the next job', async () => {
    const { sodium, w } = await make({ idleMs: 50 });
    const hash = hashPassword(sodium, 's', 'device');
    expect(await w.verify(hash, 's')).toBe(true);
    expect(w.running).toBe(true);
    await expect.poll(() => w.running, { timeout: 3000 }).toBe(false);
    expect(await w.verify(hash, 's')).toBe(true);
  });
});
