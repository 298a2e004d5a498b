// One device: its state (camera: nickname, model, firmware, network, signal; scale: nickname) and
// its event timeline, filtered by type and date. The state follows live events.
import { $, api, badge, el, fillTable, fmtAgo, fmtTime, liveEvents, showError } from './app.js';

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
  } else rows.push(['Last weigh-in', fmtAgo(d.lastSeen)]);
  rows.push(['Enrolled', fmtTime(d.createdAt)]);
  $('state').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', {}, v ?? '—')]));
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
  fillTable('events', events.map((e) => [fmtTime(e.at), e.type, e.detail === undefined || e.detail === null || e.detail === '' ? '—' : typeof e.detail === 'string' ? e.detail : JSON.stringify(e.detail)]));
  // Offer every type seen (and those the hub lists), keeping the current choice.
  const types = new Set([...(data.types || []), ...Object.keys(device.eventCounts || {}), ...events.map((e) => e.type)]);
  const select = $('filter-type');
  const have = new Set([...select.options].map((o) => o.value));
  for (const t of [...types].sort()) if (!have.has(t)) select.append(el('option', { value: t, text: t }));
}

async function load() {
  const data = await api('GET', `/api/devices/${encodeURIComponent(id)}`);
  device = data.device || data;
  renderState();
  await loadEvents();
}

$('event-filter').addEventListener('submit', (ev) => {
  ev.preventDefault();
  loadEvents().catch(showError);
});

liveEvents((type, data) => {
  if (!device || !data || data.deviceId !== id) return;
  if (typeof data.online === 'boolean') device.online = data.online;
  if (data.at) device.lastSeen = data.at;
  if (type === 'status' || type === 'device') load().catch(showError);
  else {
    renderState();
    if (type === 'event') loadEvents().catch(showError);
  }
}, { reload: load });

load().catch(showError);
