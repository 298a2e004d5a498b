/**
 * The ble and scales config sections: defaults, precedence and validation with clear reasons.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../src/config/config.js';
import { tempDir } from './helpers/hub.js';

const dir = tempDir();
afterAll(() => dir.cleanup());

describe('ble and scales configuration', () => {
  it('defaults to reading scales on hci0, scanning 25 s of every 30 s', () => {
    const c = loadConfig({ env: { HEARTH_DATA_DIR: dir.path } });
    expect(c.ble).toEqual({ enabled: true, adapter: 'hci0', scanWindowSeconds: 25, scanIntervalSeconds: 30, retryMaxSeconds: 60 });
    expect(c.scales).toEqual({ assignToleranceKg: 2 });
  });

  it('takes hearth.json, then the environment', () => {
    writeFileSync(join(dir.path, 'hearth.json'), JSON.stringify({ ble: { adapter: 'hci1', scanWindowSeconds: 60, scanIntervalSeconds: 60 }, scales: { assignToleranceKg: 1.5 } }));
    const c = loadConfig({ env: { HEARTH_DATA_DIR: dir.path, HEARTH_BLE_ENABLED: 'false', HEARTH_BLE_ADAPTER: 'hci2' } });
    expect(c.ble).toMatchObject({ enabled: false, adapter: 'hci2', scanWindowSeconds: 60, scanIntervalSeconds: 60 });
    expect(c.scales.assignToleranceKg).toBe(1.5);
  });

  it('refuses a bad adapter name, schedule or tolerance, naming each', () => {
    writeFileSync(join(dir.path, 'hearth.json'), JSON.stringify({ ble: { scanIntervalSeconds: 0 } }));
    try {
      loadConfig({ env: { HEARTH_DATA_DIR: dir.path, HEARTH_BLE_ADAPTER: 'hci0; rm -rf /', HEARTH_BLE_SCAN_WINDOW: '-1', HEARTH_SCALE_ASSIGN_TOLERANCE_KG: '50' } });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems.join('\n');
      expect(problems).toMatch(/HEARTH_BLE_ADAPTER: must be a BlueZ adapter name such as hci0/);
      expect(problems).toMatch(/HEARTH_BLE_SCAN_WINDOW: must be a whole number from 1 to 3600|HEARTH_BLE_SCAN_WINDOW: must be from 1/);
      expect(problems).toMatch(/hearth\.json ble\.scanIntervalSeconds: must be from 1 to 86400/);
      expect(problems).toMatch(/HEARTH_SCALE_ASSIGN_TOLERANCE_KG: must be from 0\.1 to 20/);
    }
  });
});
