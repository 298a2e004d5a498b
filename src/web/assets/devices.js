// Devices: everything enrolled, with its state; online state follows live events.
import { $, api, badge, el, fillTable, fmtAgo, fmtTime, liveEvents, showError } from './app.js';

let devices = [];

function render() {
  fillTable(
    'devices',
    devices.map((d) => [
      el('a', { href: `/devices/${encodeURIComponent(d.id)}`, text: d.nickname }),
      d.kind,
      d.kind === 'camera' ? badge(d.online ? 'online' : 'offline', d.online ? 'online' : 'offline') : '—',
      fmtAgo(d.lastSeen),
      fmtTime(d.createdAt),
    ]),
  );
}

async function load() {
  const list = await api('GET', '/api/devices');
  devices = Array.isArray(list) ? list : list.devices || [];
  render();
}

liveEvents((type, data) => {
  if (type === 'devices') return void load().catch(showError); // enrolled or removed elsewhere
  const d = data && data.deviceId && devices.find((x) => x.id === data.deviceId);
  if (!d) return;
  if (typeof data.online === 'boolean') d.online = data.online;
  if (data.at) d.lastSeen = data.at;
  render();
}, { reload: load });

load().catch(showError);
// "Last seen 2 min ago" ages while the page stays open.
setInterval(render, 30_000);
