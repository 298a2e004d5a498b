// One device: its state (camera: nickname, model, firmware, network, signal, last refused message;
// scale: nickname) and its event timeline, filtered by type and date, with runs of connection
// changes folded into one row. The state follows live events; a removed device's page says so.
import { $, ApiError, api, badge, el, fillTable, fmtAgo, fmtTime, liveEvents, showError } from './app.js';

const id = $('main').dataset.deviceId;
let device = null;

function rssiText(rssi) {
  if (typeof rssi !== 'number') return '—';
  const quality = rssi >= -55 ? 'excellent' : rssi >= -67 ? 'good' : rssi >= -75 ? 'fair' : 'weak';
  return `${rssi} dBm (${quality})`;
}

function renderState() {
  const d = device;
  document.querySelector('h1').textContent = d.nickname || d.id;
  document.title = `${d.nickname || d.id} · hearth`;
  const rows = [['Nickname', d.nickname], ['Kind', d.kind], ['Id', d.id]];
  if (d.kind === 'camera') {
    rows.push(
      ['State', badge(d.online ? 'online' : 'offline', d.online ? 'online' : 'offline')],
      ['Last seen', fmtAgo(d.lastSeen)],
      ['Model', d.model ?? '—'],
      ['Firmware', d.firmware ?? '—'],
      ['Wi-Fi network', d.ssid ?? '—'],
      ['Signal', rssiText(d.rssi)],
    );
    if (d.ip) rows.push(['Address', d.ip]);
    rows.push(['Last refused message', refusalText(d.lastRefusal)]);
  } else {
    rows.push(['Last weigh-in', fmtAgo(d.lastSeen)]);
    rows.push(['Battery', typeof d.battery === 'number' ? `${d.battery} % (read ${fmtAgo(d.batteryAt)})` : 'not reported by this scale']);
  }
  rows.push(['Enrolled', fmtTime(d.createdAt)]);
  $('state').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', {}, v ?? '—')]));
}

/** What the hub last refused from this camera (its reason code, never the message), and how often. */
function refusalText(r) {
  if (!r) return 'none';
  const times = r.count === 1 ? 'once' : `${r.count} times in all`;
  return el('span', {}, el('code', { text: r.reason }), ` · ${fmtAgo(r.at)} · ${times}`, el('br'), el('span', { class: 'muted small', text: REFUSAL_HINT }));
}
const REFUSAL_HINT = 'The camera sent something the hub does not accept (see docs/camera-protocol.md for the reason); it was not stored.';

/** Runs of at least this many connection changes in a row are folded into one row. */
const FOLD_RUN = 3;
const PRESENCE = new Set(['online', 'offline']);

/** Table rows for the timeline (newest first), each run of online/offline changes folded. */
function timelineRows(events) {
  const rows = [];
  for (let i = 0; i < events.length; ) {
    let j = i;
    while (j < events.length && PRESENCE.has(events[j].type)) j++;
    if (j - i >= FOLD_RUN) {
      const run = events.slice(i, j);
      const newest = run[0];
      const oldest = run[run.length - 1];
      const list = el('ul', { class: 'small' }, ...run.map((e) => el('li', { text: `${fmtTime(e.at)}: ${e.type}` })));
      rows.push([
        `${fmtTime(oldest.at)} – ${fmtTime(newest.at)}`,
        'online / offline',
        el('details', { class: 'presence-run' }, el('summary', { text: `${run.length} connection changes; then ${newest.type}` }), list),
      ]);
      i = j;
      continue;
    }
    const stop = Math.max(j, i + 1);
    for (; i < stop; i++) rows.push(eventRow(events[i]));
  }
  return rows;
}

function eventRow(e) {
  return [fmtTime(e.at), e.type, e.detail === undefined || e.detail === null || e.detail === '' ? '—' : typeof e.detail === 'string' ? e.detail : JSON.stringify(e.detail)];
}

/** The device is gone (removed here, in another tab or with the CLI): say so instead of an error. */
function showRemoved() {
  device = null;
  document.querySelector('h1').textContent = 'Device removed';
  document.title = 'Device removed · hearth';
  $('device-removed').hidden = false;
  $('state-card').hidden = true;
  $('events-card').hidden = true;
  $('activity-card').hidden = true;
}

/** The hub draws the chart; a query that changes makes the browser fetch it again. */
function loadActivity() {
  $('activity-chart').src = `/devices/${encodeURIComponent(id)}/activity.svg?v=${Date.now()}`;
}

function dayStart(value) {
  return value ? new Date(`${value}T00:00:00`).getTime() : undefined;
}

async function loadEvents() {
  const params = new URLSearchParams();
  const type = $('filter-type').value;
  const from = dayStart($('filter-from').value);
  const to = dayStart($('filter-to').value);
  if (type) params.set('type', type);
  if (from !== undefined) params.set('from', String(from));
  if (to !== undefined) params.set('to', String(to + 86_400_000)); // through the end of that day
  const data = await api('GET', `/api/devices/${encodeURIComponent(id)}/events${params.size ? `?${params}` : ''}`);
  const events = Array.isArray(data) ? data : data.events || [];
  fillTable('events', timelineRows(events));
  // Offer every type seen (and those the hub lists), keeping the current choice.
  const types = new Set([...(data.types || []), ...Object.keys(device.eventCounts || {}), ...events.map((e) => e.type)]);
  const select = $('filter-type');
  const have = new Set([...select.options].map((o) => o.value));
  for (const t of [...types].sort()) if (!have.has(t)) select.append(el('option', { value: t, text: t }));
}

async function load() {
  let data;
  try {
    data = await api('GET', `/api/devices/${encodeURIComponent(id)}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return showRemoved();
    throw err;
  }
  device = data.device || data;
  $('device-removed').hidden = true;
  renderState();
  loadActivity();
  await loadEvents();
}

$('event-filter').addEventListener('submit', (ev) => {
  ev.preventDefault();
  loadEvents().catch(showError);
});

let streamOpened = false;
liveEvents((type, data) => {
  if (type === 'devices' && device) return void load().catch(showError); // enrolled or removed elsewhere
  if (!device || !data || data.deviceId !== id) return;
  if (typeof data.online === 'boolean') device.online = data.online;
  if (data.at) device.lastSeen = data.at;
  if (type === 'status' || type === 'device') load().catch(showError);
  else {
    renderState();
    if (type === 'event') loadEvents().catch(showError);
  }
}, {
  reload: load,
  // A change made between the page's first read and the stream coming up (a removal, say) would be
  // missed: read once more when it first opens.
  onState: (up) => {
    if (!up || streamOpened) return;
    streamOpened = true;
    if (device) load().catch(showError);
  },
});

load().catch(showError);
