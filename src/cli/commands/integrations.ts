/**
 * `hearth integration add|remove home-assistant` and `hearth metrics token`: the credentials the
 * home's own tools use. Home Assistant's MQTT password is shown once and kept as an Argon2id hash;
 * the metrics token is shown once and kept as its SHA-256. A running hub follows both at once
 * (through its database watcher): it publishes or clears Home Assistant's discovery, and closes
 * Home Assistant's connections when the integration is removed.
 */
import { generateDevicePassword, hashPassword } from '../../crypto/password.js';
import { HA_USERNAME, HomeAssistantSettings } from '../../integrations/home-assistant/settings.js';
import { MetricsToken } from '../../integrations/prometheus/token.js';
import { UsageError, type CommandSpec } from '../command.js';
import { withVault } from '../services.js';

const INTEGRATIONS = ['home-assistant'];

function integrationName(args: string[]): string {
  const name = args[0];
  if (args.length !== 1 || !name || !INTEGRATIONS.includes(name)) throw new UsageError(`name one integration: ${INTEGRATIONS.join(', ')}`);
  return name;
}

const add: CommandSpec = {
  name: 'integration add',
  usage: '<home-assistant> [--hide-names] [--json] [--data-dir DIR]',
  summary: "let Home Assistant read hearth's devices over MQTT discovery (prints its MQTT credential once)",
  async run(ctx) {
    integrationName(ctx.args);
    const config = ctx.config();
    return withVault(ctx, (vault) => {
      const settings = new HomeAssistantSettings(vault.db);
      const password = generateDevicePassword();
      const hash = hashPassword(vault.sodium, password, 'device');
      // One commit: the running hub sees the credential and the names setting together.
      vault.db.transaction(() => {
        settings.setCredentialHash(hash);
        settings.setShareNames(ctx.flags['hide-names'] !== true);
      })();
      if (ctx.flags.json === true) {
        ctx.out(JSON.stringify({ username: HA_USERNAME, password, port: config.mqtt.port, shareNames: settings.shareNames() }));
        return 0;
      }
      ctx.out(
        [
          'Home Assistant integration on. In Home Assistant add the MQTT integration with:',
          `  broker:   this hub's address, port ${config.mqtt.port}`,
          `  username: ${HA_USERNAME}`,
          `  password: ${password}            (shown only now)`,
          settings.shareNames() ? 'Camera names are shown in Home Assistant (--hide-names to keep them on the hub).' : 'Camera names stay on the hub; Home Assistant shows device ids.',
        ].join('\n'),
      );
      return 0;
    });
  },
};

const remove: CommandSpec = {
  name: 'integration remove',
  usage: '<home-assistant> [--data-dir DIR]',
  summary: "revoke Home Assistant's credential; a running hub clears every discovery message",
  async run(ctx) {
    integrationName(ctx.args);
    return withVault(ctx, (vault) => {
      const had = new HomeAssistantSettings(vault.db).removeCredential();
      ctx.out(had ? 'Home Assistant integration removed' : 'the Home Assistant integration was not on');
      return 0;
    });
  },
};

const shareWeight: CommandSpec = {
  name: 'integration share-weight',
  usage: '<member-id> <on|off> [--data-dir DIR]',
  summary: "show a member's latest weight in Home Assistant (on), or take it back out (off); off for everyone by default",
  async run(ctx) {
    const [memberId, state] = ctx.args;
    if (ctx.args.length !== 2 || !memberId || (state !== 'on' && state !== 'off')) throw new UsageError('name a member id (hearth member list) and on or off');
    return withVault(ctx, (vault) => {
      const settings = new HomeAssistantSettings(vault.db);
      if (!settings.setShareWeight(memberId, state === 'on')) throw new UsageError(`no member with id ${memberId}`, 1);
      ctx.out(
        state === 'on'
          ? `${memberId}'s latest weight is shown in Home Assistant while the integration is on. Home Assistant keeps it in its own database, unencrypted, with its history.`
          : `${memberId}'s weight is no longer sent to Home Assistant; a running hub removes the sensor and its last value from the broker.`,
      );
      return 0;
    });
  },
};

const metricsToken: CommandSpec = {
  name: 'metrics token',
  usage: '[--json] [--data-dir DIR]',
  summary: 'make a new bearer token for GET /metrics (Prometheus) and print it once; the old one stops working',
  async run(ctx) {
    return withVault(ctx, (vault) => {
      const token = new MetricsToken(vault.db).create();
      if (ctx.flags.json === true) ctx.out(JSON.stringify({ token }));
      else ctx.out(`metrics bearer token (shown only now; the previous one no longer works):\n  ${token}`);
      return 0;
    });
  },
};

export const integrationCommands: CommandSpec[] = [add, remove, shareWeight, metricsToken];
