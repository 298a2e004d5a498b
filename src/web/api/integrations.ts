/**
 * The settings page's Home Assistant switch: whether the integration is on, whether camera
 * names are shared, and whose weight is shared (per member, off by default). Turning it on makes Home Assistant's MQTT password and answers it once (only
 * its Argon2id hash is kept); turning it off deletes the credential, and the running bridge clears
 * every discovery message and closes Home Assistant's connections.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { generateDevicePassword } from '../../crypto/password.js';
import { HA_USERNAME, HomeAssistantSettings } from '../../integrations/home-assistant/settings.js';
import type { WebDeps } from '../deps.js';
import { HomeAssistantIntegrationRoute, SetHomeAssistantIntegrationRoute, ShareWeightRoute } from './schemas.js';

export function registerIntegrations(server: FastifyInstance, deps: WebDeps): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const settings = new HomeAssistantSettings(deps.vault.db);
  const view = () => ({ enabled: settings.enabled(), shareNames: settings.shareNames(), weightMembers: settings.weightSharedMembers(), username: HA_USERNAME, port: deps.mqttPort });

  app.get('/api/integrations/home-assistant', { schema: HomeAssistantIntegrationRoute }, async () => view());

  app.put('/api/integrations/home-assistant', { schema: SetHomeAssistantIntegrationRoute }, async (req) => {
    const { enabled, shareNames } = req.body;
    let password: string | undefined;
    if (enabled && !settings.enabled()) {
      password = generateDevicePassword();
      const hash = await deps.passwords.hash(password, 'device');
      deps.vault.db.transaction(() => {
        settings.setCredentialHash(hash);
        if (shareNames !== undefined) settings.setShareNames(shareNames);
      })();
    } else {
      deps.vault.db.transaction(() => {
        if (!enabled) settings.removeCredential();
        if (shareNames !== undefined) settings.setShareNames(shareNames);
      })();
    }
    deps.bus.emit('integration.changed', { name: 'home-assistant', enabled: settings.enabled() });
    return { ...view(), ...(password ? { password } : {}) };
  });
  // Off for every member until turned on here or with `hearth integration share-weight`.
  app.put('/api/integrations/home-assistant/weights/:id', { schema: ShareWeightRoute }, async (req, reply) => {
    if (!settings.setShareWeight(req.params.id, req.body.share)) return reply.code(404).send({ error: 'no such member' });
    deps.bus.emit('integration.changed', { name: 'home-assistant', enabled: settings.enabled() });
    return view();
  });
}
