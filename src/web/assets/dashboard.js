// Dashboard: devices with online state, last seen and today's events; upstream state; storage
// problems. Presence changes arrive over server-sent events and update the rows in place.
import { $, api, badge, el, fillTable, fmtAgo, liveEvents, showError, showStorage } from './app.js';

let devices = [];

const UPSTREAM = {
  on: ['on', 'on', 'Consented reports are sent to the uplink.'],
  'paused-by-switch': ['paused by switch', 'paused', 'The privacy switch on the hub is on: nothing is sent.'],
  paused: ['paused', 'paused', 'Paused from the web or with `hearth privacy pause`: nothing is sent.'],
  off: ['off', 'off', 'No uplink is configured, or no category is consented: nothing is sent.'],
};

function renderUpstream(status) {
  const up = status.upstream || {};
  const [label, kind, text] = UPSTREAM[up.state] || [String(up.state || 'unknown'), 'off', ''];
  $('upstream-state').replaceWith(Object.assign(badge(label, kind), { id: 'upstream-state' }));
  $('upstream-detail').textContent = up.detail || text;
}

function renderDevices() {
  const cams = devices.filter((d) => d.kind === 'camera');
  const scales = devices.filter((d) => d.kind === 'scale');
  fillTable(
    'cameras',
    cams.map((d) => [
      el('a', { href: `/devices/${encodeURIComponent(d.id)}`, text: d.nickname }),
      badge(d.online ? 'online' : 'offline', d.online ? 'online' : 'offline'),
      fmtAgo(d.lastSeen),
      String(d.eventsToday ?? 0),
    ]),
  );
  for (const [i, d] of cams.entries()) $('cameras').querySelectorAll('tbody tr')[i].dataset.deviceId = d.id;
  fillTable(
    'scales',
    scales.map((d) => [el('a', { href: `/devices/${encodeURIComponent(d.id)}`, text: d.nickname }), fmtAgo(d.lastSeen), String(d.eventsToday ?? 0)]),
  );
}

async function load() {
  const [status, list] = await Promise.all([api('GET', '/api/status'), api('GET', '/api/devices')]);
  devices = Array.isArray(list) ? list : list.devices || [];
  renderDevices();
  renderUpstream(status);
  showStorage(status);
  const today = status.today || {};
  $('events-today').textContent = String(today.events ?? status.eventsToday ?? 0);
  $('weighins-today').textContent = String(today.weighIns ?? status.weighInsToday ?? 0);
}

liveEvents(
  (type, data) => {
    if (!data) return;
    if (data.deviceId) {
      const d = devices.find((x) => x.id === data.deviceId);
      if (!d) return void load().catch(showError); // a device enrolled elsewhere
      if (typeof data.online === 'boolean') d.online = data.online;
      if (data.at) d.lastSeen = data.at;
      // The hub counts camera events without its own online/offline markers; so does the page.
      if (type === 'event' && data.eventType !== 'online' && data.eventType !== 'offline') {
        d.eventsToday = (d.eventsToday ?? 0) + 1;
        $('events-today').textContent = String((Number($('events-today').textContent) || 0) + 1);
      }
      renderDevices();
    } else if (type === 'devices' || type === 'measurement' || type === 'storage' || type === 'privacy') load().catch(showError);
  },
  {
    onState: (connected) => {
      $('live-state').textContent = connected ? 'Live: device changes appear here without reloading.' : 'Live updates interrupted; reconnecting…';
    },
    reload: load,
  },
);

load().catch(showError);
// "Last seen 2 min ago" ages while the page stays open.
setInterval(renderDevices, 30_000);
