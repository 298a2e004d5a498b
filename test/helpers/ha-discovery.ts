/**
 * Checks a discovery config the way Home Assistant's MQTT discovery reads it, from the keys and
 * values its schemas accept (test/fixtures/home-assistant-discovery.json, copied from Home
 * Assistant's source). Returns the problems; none means Home Assistant would set the entity up.
 */
import { readFileSync } from 'node:fs';

interface ComponentSchema {
  required: string[];
  keys: string[];
  deviceClasses: string[];
  stateClasses?: string[];
}

export interface HaSchema {
  topicPattern: string;
  availabilityModes: string[];
  entityCategories: string[];
  commonKeys: string[];
  availabilityItemKeys: string[];
  deviceKeys: string[];
  originKeys: string[];
  components: Record<string, ComponentSchema>;
  units: Record<string, string[]>;
  examples: { topic: string; config: Record<string, unknown> }[];
}

export const HA_SCHEMA = JSON.parse(readFileSync(new URL('../fixtures/home-assistant-discovery.json', import.meta.url), 'utf8')) as HaSchema;

const isString = (v: unknown): v is string => typeof v === 'string';

/** A subscribe topic as Home Assistant's valid_subscribe_topic accepts it (no wildcard misuse, not empty). */
function validSubscribeTopic(t: unknown): boolean {
  if (!isString(t) || t.length === 0 || t.length > 65535 || t.includes('\u0000')) return false;
  return t.split('/').every((level, i, all) => (level.includes('#') ? level === '#' && i === all.length - 1 : !level.includes('+') || level === '+'));
}

export function discoveryProblems(topic: string, config: Record<string, unknown>, schema: HaSchema = HA_SCHEMA): string[] {
  const problems: string[] = [];
  const m = new RegExp(schema.topicPattern).exec(topic);
  if (!m) return [`topic ${topic} does not match the discovery pattern`];
  const component = m.groups!.component!;
  const c = schema.components[component];
  if (!c) return [`component ${component} is not one this check knows`];
  const allowed = new Set([...schema.commonKeys, ...c.keys]);
  for (const k of Object.keys(config)) if (!allowed.has(k)) problems.push(`key ${k} is not accepted by ${component}`);
  for (const k of c.required) if (config[k] === undefined) problems.push(`required key ${k} is missing`);
  if (config.state_topic !== undefined && !validSubscribeTopic(config.state_topic)) problems.push('state_topic is not a valid topic');
  if (config.qos !== undefined && ![0, 1, 2].includes(config.qos as number)) problems.push('qos must be 0, 1 or 2');
  if (config.unique_id !== undefined && !isString(config.unique_id)) problems.push('unique_id must be a string');
  if (config.name !== undefined && config.name !== null && !isString(config.name)) problems.push('name must be a string or null');
  if (config.device_class !== undefined && !c.deviceClasses.includes(config.device_class as string)) problems.push(`device_class ${String(config.device_class)} is not a ${component} class`);
  if (config.state_class !== undefined && !(c.stateClasses ?? []).includes(config.state_class as string)) problems.push('state_class is not accepted');
  const units = schema.units[config.device_class as string];
  if (units && !units.includes(config.unit_of_measurement as string)) problems.push(`unit ${String(config.unit_of_measurement)} is not one of ${units.join(', ')}`);
  if (config.device_class === 'enum' && (!Array.isArray(config.options) || config.options.length === 0)) problems.push('an enum sensor needs options');
  if (config.entity_category !== undefined && !schema.entityCategories.includes(config.entity_category as string)) problems.push('entity_category is not accepted');
  if (config.availability_mode !== undefined && !schema.availabilityModes.includes(config.availability_mode as string)) problems.push('availability_mode is not accepted');
  if (config.availability !== undefined && config.availability_topic !== undefined) problems.push('availability and availability_topic exclude each other');
  if (config.availability !== undefined) {
    const list = Array.isArray(config.availability) ? config.availability : [config.availability];
    for (const item of list as Record<string, unknown>[]) {
      for (const k of Object.keys(item)) if (!schema.availabilityItemKeys.includes(k)) problems.push(`availability key ${k} is not accepted`);
      if (!validSubscribeTopic(item.topic)) problems.push('an availability item needs a valid topic');
    }
  }
  if (config.device !== undefined) {
    const d = config.device as Record<string, unknown>;
    for (const k of Object.keys(d)) if (!schema.deviceKeys.includes(k)) problems.push(`device key ${k} is not accepted`);
    const ids = Array.isArray(d.identifiers) ? d.identifiers : d.identifiers === undefined ? [] : [d.identifiers];
    if (ids.length === 0 && !(Array.isArray(d.connections) && d.connections.length > 0)) problems.push('the device needs identifiers or connections');
    if (!ids.every(isString)) problems.push('device identifiers must be strings');
    for (const k of ['name', 'model', 'manufacturer', 'sw_version', 'via_device'] as const) if (d[k] !== undefined && !isString(d[k])) problems.push(`device ${k} must be a string`);
  }
  if (config.origin !== undefined) {
    const o = config.origin as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!schema.originKeys.includes(k)) problems.push(`origin key ${k} is not accepted`);
    if (!isString(o.name)) problems.push('origin needs a name');
  }
  return problems;
}
