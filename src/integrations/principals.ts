/**
 * The broker's accounts that are not devices: today only Home Assistant's, while the integration
 * is on. Read from the store at each login, so `hearth integration remove` takes effect at once.
 */
import type { BrokerPrincipal } from '../broker/broker.js';
import type { Db } from '../store/database.js';
import { haMayPublish, haMaySubscribe } from './home-assistant/acl.js';
import { HA_USERNAME, HomeAssistantSettings } from './home-assistant/settings.js';

export function brokerPrincipals(db: Db): (username: string) => BrokerPrincipal | undefined {
  const settings = new HomeAssistantSettings(db);
  return (username) => {
    if (username !== HA_USERNAME) return undefined;
    const secretHash = settings.credentialHash();
    return secretHash ? { secretHash, mayPublish: haMayPublish, maySubscribe: haMaySubscribe } : undefined;
  };
}
