/**
 * The Home Assistant bridge in the running hub: while the integration is on, it publishes the
 * discovery configs and the state of hearth's entities on the hub's own broker (retained, QoS 1),
 * following the domain bus. It re-sends every config when Home Assistant says `online` on
 * `homeassistant/status`, clears a removed device's configs with empty retained messages, and
 * clears them all (and closes Home Assistant's connections) when the integration is removed.
 * On stop it marks the bridge offline: the embedded broker cannot leave a will for itself, so
 * this message is the hub's last will, sent while clients are still connected.
 */
import type { DomainBus } from '../../bus/bus.js';
import type { DeviceService } from '../../devices/service.js';
import type { DeviceRecord } from '../../devices/registry.js';
import type { Logger } from '../../log/logger.js';
import { HA_STATUS_TOPIC } from './acl.js';
import {
  OFFLINE,
  ONLINE,
  availabilityTopic,
  bridgeAvailabilityTopic,
  bridgeConfigs,
  bridgeNode,
  bridgeState,
  cameraState,
  clearDeviceConfigs,
  deviceConfigs,
  memberConfigs,
  memberState,
  scaleState,
  stateTopic,
  type HaContext,
  type HaDevice,
  type UpstreamState,
} from './discovery.js';
import { HA_USERNAME, type HomeAssistantSettings } from './settings.js';

/** The broker, as far as this bridge uses it (HubBroker). */
export interface HaMqtt {
  publish(topic: string, payload: string | Buffer, opts: { qos: 0 | 1; retain: boolean }): Promise<void>;
  onPrincipalPublish(listener: (topic: string, payload: Buffer) => void): () => void;
  disconnectPrincipal(username: string): number;
  isOnline(deviceId: string): boolean;
}

/** The household members, as far as weight sharing needs them (MemberService). */
export interface HaMembers {
  store: { get(memberId: string): { id: string; name: string } | undefined };
  latestWeight(memberId: string): { weightKg: number; at: number } | null;
}

export interface HaBridgeDeps {
  bus: DomainBus;
  devices: DeviceService;
  members: HaMembers;
  settings: HomeAssistantSettings;
  mqtt: HaMqtt;
  /** Whether reports go upstream now (same words as the dashboard). */
  upstream(): UpstreamState;
  /** Reports sent since local midnight, when the bridge starts. */
  reportsSentToday(): number;
  logger: Logger;
  version: string;
  now?: () => number;
}

const OWNER = 'home-assistant';

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function startOfDay(at: number): number {
  const d = new Date(at);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

export class HomeAssistantBridge {
  readonly name = OWNER;
  private active: HaContext | undefined;
  private shareNames = true;
  /** Members whose weight is announced now (the stored setting, as last followed). */
  private weightMembers: string[] = [];
  /** Config topics published per node (device id or the bridge), to clear exactly those. */
  private readonly published = new Map<string, string[]>();
  private readonly motion = new Set<string>();
  private reports = { day: 0, count: 0 };
  private stopListening: (() => void) | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(private readonly deps: HaBridgeDeps) {
    this.now = deps.now ?? Date.now;
    this.log = deps.logger.child({ component: 'home-assistant' });
  }

  async start(): Promise<void> {
    const { bus } = this.deps;
    this.reports = { day: startOfDay(this.now()), count: this.deps.reportsSentToday() };
    this.stopListening = this.deps.mqtt.onPrincipalPublish((topic, payload) => {
      if (topic === HA_STATUS_TOPIC && payload.toString('utf8') === 'online' && this.active) this.run(() => this.announceAll());
    });
    bus.on('store.external-change', OWNER, () => this.run(() => this.followSettings()));
    bus.on('integration.changed', OWNER, () => this.run(() => this.followSettings()));
    bus.on('device.enrolled', OWNER, (e) => {
      this.run(async () => {
        const d = this.deps.devices.get(e.deviceId);
        if (d && this.active) await this.announceDevice(this.active, d);
      });
    });
    bus.on('device.removed', OWNER, (e) => {
      this.motion.delete(e.deviceId);
      if (this.active) this.run(() => this.clearDevice(e.deviceId, e.kind));
    });
    // Per message: nothing is queued while the integration is off (announceAll publishes every
    // device's state when it turns on), so a hub without Home Assistant pays no promise per message.
    bus.on('device.presence', OWNER, (e) => {
      if (!e.online) this.motion.delete(e.deviceId);
      if (this.active) this.run(() => this.publishDeviceState(e.deviceId));
    });
    bus.on('device.status', OWNER, (e) => {
      if (this.active) this.run(() => this.publishDeviceState(e.deviceId));
    });
    bus.on('device.event', OWNER, (e) => {
      if (e.eventType === 'motion') this.motion.add(e.deviceId);
      else if (e.eventType === 'motion_end') this.motion.delete(e.deviceId);
      else return;
      if (this.active) this.run(() => this.publishDeviceState(e.deviceId));
    });
    bus.on('report.sent', OWNER, (e) => {
      if (!e.ok) return;
      const day = startOfDay(this.now());
      this.reports = day === this.reports.day ? { day, count: this.reports.count + 1 } : { day, count: 1 };
      this.run(() => this.publishBridgeState());
    });
    // A weigh-in stored or (re)assigned: the shared members' latest weights may have changed.
    bus.on('measurement.stored', OWNER, (e) => {
      if (e.assigned) this.run(() => this.publishMemberStates());
    });
    bus.on('measurement.assigned', OWNER, () => this.run(() => this.publishMemberStates()));
    bus.on('member.forgotten', OWNER, () => this.run(() => this.followSettings()));
    bus.on('privacy.changed', OWNER, () => this.run(() => this.publishBridgeState()));
    bus.on('consent.changed', OWNER, () => this.run(() => this.publishBridgeState()));
    await this.run(() => this.followSettings());
  }

  async stop(): Promise<void> {
    this.deps.bus.removeOwner(OWNER);
    this.stopListening?.();
    await this.queue;
    const ctx = this.active;
    this.active = undefined;
    if (ctx) await this.deps.mqtt.publish(bridgeAvailabilityTopic(ctx.hubId), OFFLINE, { qos: 1, retain: true }).catch(() => {});
  }

  /** Turns on, off or re-announces after the stored settings changed (CLI, web UI, start). */
  private async followSettings(): Promise<void> {
    const { settings } = this.deps;
    const hubId = settings.hubId();
    const enabled = settings.enabled() && hubId !== undefined;
    if (!enabled) {
      if (this.active) await this.turnOff(this.active);
      return;
    }
    const shareNames = settings.shareNames();
    const weightMembers = settings.weightSharedMembers();
    if (this.active && shareNames === this.shareNames) {
      if (weightMembers.join() !== this.weightMembers.join()) await this.followWeightSharing(this.active, weightMembers);
      return;
    }
    if (this.active) for (const id of this.weightMembers) if (!weightMembers.includes(id)) await this.clearNode(id, this.published.get(id) ?? []);
    this.shareNames = shareNames;
    this.weightMembers = weightMembers;
    this.active = { hubId: hubId!, version: this.deps.version };
    await this.announceAll();
    this.log.info('Home Assistant discovery published', { devices: this.published.size - 1 });
  }

  private async turnOff(ctx: HaContext): Promise<void> {
    // Configs, and the retained states behind them (a weight among them), leave the broker.
    for (const [node, topics] of [...this.published]) await this.clearNode(node, topics);
    this.active = undefined;
    this.weightMembers = [];
    await this.deps.mqtt.publish(bridgeAvailabilityTopic(ctx.hubId), '', { qos: 1, retain: true });
    const closed = this.deps.mqtt.disconnectPrincipal(HA_USERNAME);
    this.log.info('Home Assistant integration removed; discovery cleared', { connections: closed });
  }

  private async announceAll(): Promise<void> {
    const ctx = this.active;
    if (!ctx) return;
    await this.deps.mqtt.publish(bridgeAvailabilityTopic(ctx.hubId), ONLINE, { qos: 1, retain: true });
    const bridge = bridgeConfigs(ctx);
    for (const m of bridge) await this.publishConfig(m.topic, m.config);
    this.published.set(bridgeNode(ctx.hubId), bridge.map((m) => m.topic));
    await this.publishBridgeState();
    for (const d of this.deps.devices.list()) await this.announceDevice(ctx, d);
    for (const id of this.weightMembers) await this.announceMember(ctx, id);
  }

  /** Announces members whose weight sharing was turned on, and clears those turned off or forgotten. */
  private async followWeightSharing(ctx: HaContext, now: string[]): Promise<void> {
    const before = new Set(this.weightMembers);
    this.weightMembers = now;
    for (const id of before) if (!now.includes(id)) await this.clearNode(id, this.published.get(id) ?? []);
    for (const id of now) if (!before.has(id)) await this.announceMember(ctx, id);
  }

  private async announceMember(ctx: HaContext, memberId: string): Promise<void> {
    const member = this.deps.members.store.get(memberId);
    if (!member) return;
    const configs = memberConfigs(ctx, { id: member.id, ...(this.shareNames ? { name: member.name } : {}) });
    for (const m of configs) await this.publishConfig(m.topic, m.config);
    this.published.set(member.id, configs.map((m) => m.topic));
    await this.publishMemberState(ctx, member.id);
  }

  private async publishMemberStates(): Promise<void> {
    const ctx = this.active;
    if (!ctx) return;
    for (const id of this.weightMembers) await this.publishMemberState(ctx, id);
  }

  private async publishMemberState(ctx: HaContext, memberId: string): Promise<void> {
    if (!this.published.has(memberId)) return;
    await this.deps.mqtt.publish(stateTopic(ctx.hubId, memberId), JSON.stringify(memberState(this.deps.members.latestWeight(memberId))), { qos: 1, retain: true });
  }

  private haDevice(d: DeviceRecord, fields: Record<string, unknown>): HaDevice {
    const str = (v: unknown) => (typeof v === 'string' && v.length > 0 && v.length <= 64 ? v : null);
    return {
      id: d.id,
      kind: d.kind,
      kindLabel: capitalise(this.deps.devices.kind(d.kind)?.label ?? d.kind),
      ...(this.shareNames ? { nickname: d.nickname } : {}),
      model: str(fields.model),
      firmware: str(fields.firmware),
      hasBattery: typeof fields.battery === 'number',
    };
  }

  private async announceDevice(ctx: HaContext, d: DeviceRecord): Promise<void> {
    const view = this.deps.devices.details(d);
    const configs = deviceConfigs(ctx, this.haDevice(d, view.fields));
    if (configs.length === 0) return;
    for (const m of configs) await this.publishConfig(m.topic, m.config);
    this.published.set(d.id, configs.map((m) => m.topic));
    await this.publishDeviceState(d.id);
  }

  private async clearDevice(deviceId: string, kind: string): Promise<void> {
    await this.clearNode(deviceId, this.published.get(deviceId) ?? clearDeviceConfigs(kind, deviceId));
  }

  /** Empty retained messages for a node's configs, state and availability: gone from Home Assistant and the broker. */
  private async clearNode(node: string, configTopics: string[]): Promise<void> {
    const ctx = this.active;
    this.published.delete(node);
    for (const t of configTopics) await this.deps.mqtt.publish(t, '', { qos: 1, retain: true });
    if (ctx) {
      await this.deps.mqtt.publish(stateTopic(ctx.hubId, node), '', { qos: 1, retain: true });
      await this.deps.mqtt.publish(availabilityTopic(ctx.hubId, node), '', { qos: 1, retain: true });
    }
  }

  private async publishDeviceState(deviceId: string): Promise<void> {
    const ctx = this.active;
    if (!ctx) return;
    const d = this.deps.devices.get(deviceId);
    if (!d) return;
    if (d.kind === 'scale') {
      const battery = this.deps.devices.details(d).fields.battery;
      if (typeof battery !== 'number') return;
      // Its first battery reading gives a scale its entity.
      if (!this.published.has(deviceId)) return this.announceDevice(ctx, d);
      await this.deps.mqtt.publish(stateTopic(ctx.hubId, deviceId), JSON.stringify(scaleState(battery)), { qos: 1, retain: true });
      return;
    }
    if (d.kind !== 'camera' || !this.published.has(deviceId)) return;
    const view = this.deps.devices.details(d);
    const connected = this.deps.mqtt.isOnline(deviceId);
    const rssi = typeof view.fields.rssi === 'number' ? view.fields.rssi : null;
    const state = cameraState({ connected, motion: connected && this.motion.has(deviceId), rssi, lastSeen: view.lastSeen });
    await this.deps.mqtt.publish(availabilityTopic(ctx.hubId, deviceId), connected ? ONLINE : OFFLINE, { qos: 1, retain: true });
    await this.deps.mqtt.publish(stateTopic(ctx.hubId, deviceId), JSON.stringify(state), { qos: 1, retain: true });
  }

  private async publishBridgeState(): Promise<void> {
    const ctx = this.active;
    if (!ctx) return;
    const today = startOfDay(this.now());
    if (today !== this.reports.day) this.reports = { day: today, count: 0 };
    const state = bridgeState(this.deps.upstream(), this.reports.count);
    await this.deps.mqtt.publish(stateTopic(ctx.hubId, bridgeNode(ctx.hubId)), JSON.stringify(state), { qos: 1, retain: true });
  }

  private publishConfig(topic: string, config: Record<string, unknown>): Promise<void> {
    return this.deps.mqtt.publish(topic, JSON.stringify(config), { qos: 1, retain: true });
  }

  /**
   * One piece of work at a time, in the order the events came, so that a later state never
   * overtakes an earlier one. Best effort: a failure is logged by its code; the next change
   * publishes again.
   */
  private run(work: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(work).catch((err: unknown) => {
      this.log.warn('Home Assistant publish failed', { code: (err as { code?: string }).code ?? (err as Error).name });
    });
    return this.queue;
  }

  /** Resolves once everything queued so far was published (for tests and stop). */
  idle(): Promise<void> {
    return this.queue;
  }
}
