/**
 * A port the hub cannot have ends the daemon with a non-zero exit and a message that names the
 * port and the setting to change, for the MQTT broker and the web UI alike (compiled daemon).
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, tempDir } from './helpers/hub.js';

describe('daemon start with a busy port', () => {
  const dir = tempDir();
  let busy: Server;
  let port: number;

  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    port = (busy.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise((r) => busy.close(r));
    dir.cleanup();
  });

  const start = (mqttPort: number, httpPort: number) =>
    cli(['start', '--data-dir', dir.path, '--mqtt-port', String(mqttPort), '--http-port', String(httpPort), '--mqtt-host', '127.0.0.1', '--http-host', '127.0.0.1'], { HEARTH_BLE_ENABLED: 'false', HEARTH_GPIO_ENABLED: 'false' });

  it('exits non-zero when the MQTT port is in use, naming the port and mqtt.port / HEARTH_MQTT_PORT / --mqtt-port', () => {
    const res = start(port, 0);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`the MQTT broker cannot listen: port ${port} on 127.0.0.1 is already in use`);
    expect(res.stderr).toContain('Change mqtt.port in hearth.json, HEARTH_MQTT_PORT or --mqtt-port.');
    expect(res.stderr).not.toContain('unexpected failure');
    expect(res.stdout).not.toContain('hearth is running');
  });

  it('exits non-zero when the HTTP port is in use, naming the port and http.port / HEARTH_HTTP_PORT / --http-port', () => {
    const res = start(0, port);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`the web UI cannot listen: port ${port} on 127.0.0.1 is already in use`);
    expect(res.stderr).toContain('Change http.port in hearth.json, HEARTH_HTTP_PORT or --http-port.');
    expect(res.stderr).not.toContain('unexpected failure');
  });

  it('refuses the same port for both as a configuration error, before opening anything', () => {
    const res = start(port, port);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`mqtt.port (--mqtt-port) and http.port (--http-port) are both ${port}`);
  });
});
