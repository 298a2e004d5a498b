import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/config.js';
import { tempDir } from './helpers/hub.js';

describe('configuration', () => {
  const dirs: { cleanup(): void }[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => d.cleanup()));

  it('has sane defaults: ./data, MQTT 1883, HTTP 8080', () => {
    const c = loadConfig({ cwd: '/srv/x' });
    expect(c.dataDir).toBe('/srv/x/data');
    expect(c.mqtt.port).toBe(1883);
    expect(c.http.port).toBe(8080);
  });

  it('takes flags over env over the data dir file over defaults', () => {
    const d = tempDir();
    dirs.push(d);
    writeFileSync(join(d.path, 'hearth.json'), JSON.stringify({ mqtt: { port: 2000 }, http: { port: 3000, host: '127.0.0.1' } }));
    const c = loadConfig({ env: { HEARTH_DATA_DIR: d.path, HEARTH_HTTP_PORT: '4000' }, flags: { 'mqtt-port': '5000' } });
    expect(c.mqtt.port).toBe(5000);
    expect(c.http.port).toBe(4000);
    expect(c.http.host).toBe('127.0.0.1');
    expect(c.dataDir).toBe(d.path);
  });

  it('refuses the same port for the MQTT broker and the web UI, naming where each came from', () => {
    const d = tempDir();
    dirs.push(d);
    writeFileSync(join(d.path, 'hearth.json'), JSON.stringify({ mqtt: { port: 8080 } }));
    let err: unknown;
    try {
      loadConfig({ env: { HEARTH_DATA_DIR: d.path } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([expect.stringMatching(/^mqtt\.port \(hearth\.json mqtt\.port\) and http\.port \(default\) are both 8080/)]);
    expect(() => loadConfig({ flags: { 'mqtt-port': '1999', 'http-port': '1999' } })).toThrow(/--mqtt-port.*--http-port.*both 1999/);
    // 0 picks a free port for each: allowed for both.
    expect(loadConfig({ flags: { 'mqtt-port': '0', 'http-port': '0' } }).mqtt.port).toBe(0);
  });

  it('reports every bad field at once, each with its source', () => {
    const d = tempDir();
    dirs.push(d);
    mkdirSync(d.path, { recursive: true });
    writeFileSync(join(d.path, 'hearth.json'), JSON.stringify({ mqtt: { port: 'abc' }, bogus: 1 }));
    let error: ConfigError | undefined;
    try {
      loadConfig({ env: { HEARTH_DATA_DIR: d.path, HEARTH_HTTP_PORT: '70000', HEARTH_LOG_LEVEL: 'loud' } });
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = error!.problems.join('\n');
    expect(text).toMatch(/HEARTH_HTTP_PORT: must be from 0 to 65535/);
    expect(text).toMatch(/HEARTH_LOG_LEVEL: must be one of/);
    expect(text).toMatch(/hearth.json mqtt.port: must be a whole number/);
    expect(text).toMatch(/unknown setting "bogus"/);
  });

  it('refuses a config file that is not a JSON object', () => {
    const d = tempDir();
    dirs.push(d);
    writeFileSync(join(d.path, 'hearth.json'), '[1,2');
    expect(() => loadConfig({ env: { HEARTH_DATA_DIR: d.path } })).toThrow(/hearth.json: is not valid JSON/);
  });

  it('refuses host values with control characters or odd syntax', () => {
    expect(() => loadConfig({ env: { HEARTH_HTTP_HOST: 'evil host;rm' } })).toThrow(/a host name or IP address/);
  });
});
