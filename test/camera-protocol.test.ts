import { describe, expect, it } from 'vitest';
import { isAllowedSubscription, parseEvent, parsePublishTopic, parseStatus } from '../src/devices/camera/protocol.js';

const b = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const NOW = Date.UTC(2026, 10, 25);

describe('camera topics', () => {
  it('accepts only the device’s own status and event topics', () => {
    expect(parsePublishTopic('hearth/cam/cam-1/status', 'cam-1')).toEqual({ ok: true, channel: 'status' });
    expect(parsePublishTopic('hearth/cam/cam-1/event', 'cam-1')).toEqual({ ok: true, channel: 'event' });
    expect(parsePublishTopic('hearth/cam/cam-2/event', 'cam-1')).toMatchObject({ ok: false, reason: 'topic_not_own' });
    expect(parsePublishTopic('hearth/cam/cam-1/other', 'cam-1')).toMatchObject({ ok: false, reason: 'topic_unknown_channel' });
    expect(parsePublishTopic('hearth/cam/cam-1', 'cam-1')).toMatchObject({ ok: false });
    expect(parsePublishTopic('hearth/cam/cam-10/event', 'cam-1')).toMatchObject({ ok: false });
  });

  it('allows subscriptions only below the device’s own cmd/', () => {
    expect(isAllowedSubscription('hearth/cam/cam-1/cmd/#', 'cam-1')).toBe(true);
    expect(isAllowedSubscription('hearth/cam/cam-1/cmd/reboot', 'cam-1')).toBe(true);
    expect(isAllowedSubscription('hearth/cam/cam-1/cmd/+', 'cam-1')).toBe(true);
    expect(isAllowedSubscription('hearth/cam/cam-1/#', 'cam-1')).toBe(false);
    expect(isAllowedSubscription('hearth/cam/+/cmd/#', 'cam-1')).toBe(false);
    expect(isAllowedSubscription('#', 'cam-1')).toBe(false);
    expect(isAllowedSubscription('hearth/cam/cam-2/cmd/#', 'cam-1')).toBe(false);
    expect(isAllowedSubscription('hearth/cam/cam-1/cmd/#/x', 'cam-1')).toBe(false);
    expect(isAllowedSubscription('hearth/cam/cam-1/cmdx/#', 'cam-1')).toBe(false);
  });
});

describe('status payloads', () => {
  it('accepts a full status and drops unknown fields', () => {
    const r = parseStatus(b({ state: 'online', model: 'C3', firmware: '2.1.0', ssid: 'Home', ip: '192.168.1.20', rssi: -61, mac: 'aa:bb' }), 4096);
    expect(r).toEqual({ ok: true, value: { state: 'online', model: 'C3', firmware: '2.1.0', ssid: 'Home', ip: '192.168.1.20', rssi: -61 }, droppedFields: 1 });
  });

  it('drops keys named like Object.prototype members instead of taking them for field checks', () => {
    const payload = Buffer.from('{"state":"online","constructor":1,"toString":"x","hasOwnProperty":2,"__proto__":{"ssid":"Evil"},"ssid":"Home"}');
    expect(parseStatus(payload, 4096)).toEqual({ ok: true, value: { state: 'online', ssid: 'Home' }, droppedFields: 4 });
  });

  it('accepts subnets and IPv6', () => {
    expect(parseStatus(b({ state: 'online', ip: '10.0.0.0/24' }), 4096).ok).toBe(true);
    expect(parseStatus(b({ state: 'online', ip: 'fe80::1' }), 4096).ok).toBe(true);
  });

  it.each([
    ['', 'payload_empty'],
    ['{"state":', 'payload_not_json'],
    ['[1]', 'payload_not_object'],
    ['null', 'payload_not_object'],
    [JSON.stringify({ model: 'x' }), 'status_missing_state'],
    [JSON.stringify({ state: 'sleeping' }), 'status_bad_state'],
    [JSON.stringify({ state: 'online', ssid: 'x'.repeat(33) }), 'status_bad_ssid'],
    [JSON.stringify({ state: 'online', ip: '999.1.1.1' }), 'status_bad_ip'],
    [JSON.stringify({ state: 'online', ip: '10.0.0.0/33' }), 'status_bad_ip'],
    [JSON.stringify({ state: 'online', rssi: 5 }), 'status_bad_rssi'],
    [JSON.stringify({ state: 'online', rssi: '-50.5' }), 'status_bad_rssi'],
    [JSON.stringify({ state: 'online', rssi: ' -50' }), 'status_bad_rssi'],
    [JSON.stringify({ state: 'online', rssi: '5' }), 'status_bad_rssi'],
    [JSON.stringify({ state: 'online', rssi: '' }), 'status_bad_rssi'],
    [JSON.stringify({ state: 'Sleeping' }), 'status_bad_state'],
    [JSON.stringify({ state: 1 }), 'status_bad_state'],
    [JSON.stringify({ state: 'online', model: { nested: true } }), 'status_bad_model'],
    [JSON.stringify({ state: 'online', firmware: 'a\nb' }), 'status_bad_firmware'],
  ])('rejects %j with %s', (payload, reason) => {
    expect(parseStatus(b(payload), 4096)).toEqual({ ok: false, reason });
  });

  it('takes what real firmware sends: state in any letter case, rssi as a numeric string', () => {
    expect(parseStatus(b({ state: 'Online', rssi: '-60' }), 4096)).toEqual({ ok: true, value: { state: 'online', rssi: -60 }, droppedFields: 0 });
    expect(parseStatus(b({ state: 'OFFLINE' }), 4096)).toEqual({ ok: true, value: { state: 'offline' }, droppedFields: 0 });
    expect(parseStatus(b({ state: 'online', rssi: '0' }), 4096)).toMatchObject({ ok: true, value: { rssi: 0 } });
    expect(parseStatus(b({ state: 'online', rssi: '-127' }), 4096)).toMatchObject({ ok: true, value: { rssi: -127 } });
    expect(parseStatus(b({ state: 'online', rssi: '-128' }), 4096)).toEqual({ ok: false, reason: 'status_bad_rssi' });
  });

  it('rejects invalid UTF-8 and oversized payloads', () => {
    expect(parseStatus(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 4096)).toEqual({ ok: false, reason: 'payload_not_utf8' });
    expect(parseStatus(b({ state: 'online', model: 'x'.repeat(50) }), 40)).toEqual({ ok: false, reason: 'payload_too_large' });
  });
});

describe('event payloads', () => {
  it('accepts an event in milliseconds or seconds', () => {
    expect(parseEvent(b({ type: 'motion', ts: NOW - 1000 }), 4096, NOW)).toEqual({ ok: true, value: { type: 'motion', ts: NOW - 1000 }, droppedFields: 0 });
    expect(parseEvent(b({ type: 'reboot', ts: (NOW - 5000) / 1000 }), 4096, NOW)).toMatchObject({ ok: true, value: { ts: NOW - 5000 } });
    expect(parseEvent(b({ type: 'connect_failed', ts: NOW, detail: 'auth timeout', extra: 1 }), 4096, NOW)).toEqual({
      ok: true,
      value: { type: 'connect_failed', ts: NOW, detail: 'auth timeout' },
      droppedFields: 1,
    });
  });

  it('gives an event without a time, or with 0 (no NTP yet), the receive time', () => {
    expect(parseEvent(b({ type: 'motion' }), 4096, NOW)).toEqual({ ok: true, value: { type: 'motion', ts: NOW }, droppedFields: 0 });
    expect(parseEvent(b({ type: 'reboot', ts: 0 }), 4096, NOW)).toEqual({ ok: true, value: { type: 'reboot', ts: NOW }, droppedFields: 0 });
    // Any other clock before 2020 is still a clock that is wrong, not one that is missing.
    expect(parseEvent(b({ type: 'motion', ts: 1 }), 4096, NOW)).toEqual({ ok: false, reason: 'event_ts_out_of_range' });
  });

  it.each([
    [{ ts: NOW }, 'event_bad_type'],
    [{ type: 'Motion!', ts: NOW }, 'event_bad_type'],
    [{ type: 'x'.repeat(40), ts: NOW }, 'event_bad_type'],
    [{ type: 'online', ts: NOW }, 'event_reserved_type'],
    [{ type: 'motion', ts: '1764000000' }, 'event_bad_ts'],
    [{ type: 'motion', ts: null }, 'event_bad_ts'],
    [{ type: 'motion', ts: 1.5 }, 'event_bad_ts'],
    [{ type: 'motion', ts: 1000 }, 'event_ts_out_of_range'],
    [{ type: 'motion', ts: NOW + 3 * 86400_000 }, 'event_ts_out_of_range'],
    [{ type: 'motion', ts: NOW, detail: 'y'.repeat(300) }, 'event_bad_detail'],
    [{ type: 'motion', ts: NOW, detail: 42 }, 'event_bad_detail'],
  ])('rejects %j with %s', (payload, reason) => {
    expect(parseEvent(b(payload), 4096, NOW)).toEqual({ ok: false, reason });
  });

  it('survives deeply nested JSON without throwing', () => {
    const deep = '{"type":"motion","ts":1,"x":' + '['.repeat(2000) + ']'.repeat(2000) + '}';
    expect(parseEvent(b(deep), 1_000_000, NOW).ok).toBe(false);
  });
});
