// Scales & members: the enrolled scales, each member's weight history as a chart drawn by the hub,
// and weigh-ins that matched nobody, to be assigned by hand.
import { $, api, el, fillTable, flash, fmtAgo, fmtTime, liveEvents, showError } from './app.js';

let members = [];

function weightOf(m) {
  const kg = m.weightKg ?? (m.measurement && m.measurement.weightKg);
  return typeof kg === 'number' ? `${kg.toFixed(1)} kg` : '—';
}

function renderCharts() {
  $('no-members').hidden = members.length > 0;
  // A cache-busting query so a new weigh-in shows in a redrawn chart.
  const v = Date.now();
  $('member-charts').replaceChildren(
    ...members.map((m) =>
      el(
        'section',
        { class: 'card', 'aria-labelledby': `h-${m.id}` },
        el('h2', { id: `h-${m.id}`, text: m.name }),
        el('div', { class: 'chart-box' }, el('img', { src: `/members/${encodeURIComponent(m.id)}/weight.svg?v=${v}`, alt: `Weight history of ${m.name}`, width: 520, height: 260 })),
      ),
    ),
  );
}

function assignCell(measurement) {
  const select = el('select', { 'aria-label': 'Member' }, el('option', { value: '', text: 'Choose…' }), ...members.map((m) => el('option', { value: m.id, text: m.name })));
  const button = el('button', { type: 'button', class: 'secondary', text: 'Assign' });
  button.addEventListener('click', async () => {
    if (!select.value) return select.focus();
    button.disabled = true;
    try {
      await api('POST', `/api/measurements/${encodeURIComponent(measurement.id)}/assign`, { memberId: select.value });
      flash('Weigh-in assigned.');
      await load();
    } catch (err) {
      showError(err);
      button.disabled = false;
    }
  });
  return el('td', {}, el('div', { class: 'actions' }, select, button));
}

/** The enrolled scales, each leading to its page; refreshed alone when devices change, so a choice being made below is kept. */
async function loadScales() {
  const d = await api('GET', '/api/devices');
  const scales = (Array.isArray(d) ? d : d.devices || []).filter((x) => x.kind === 'scale');
  fillTable('scale-list', scales.map((x) => [el('a', { href: `/devices/${encodeURIComponent(x.id)}`, text: x.nickname }), fmtAgo(x.lastSeen), fmtTime(x.createdAt)]));
}

async function load() {
  const [m, u] = await Promise.all([api('GET', '/api/members'), api('GET', '/api/measurements/unassigned'), loadScales()]);
  members = Array.isArray(m) ? m : m.members || [];
  const unassigned = Array.isArray(u) ? u : u.measurements || [];
  renderCharts();
  fillTable('unassigned', unassigned.map((x) => [fmtTime(x.measuredAt), x.scale || x.deviceNickname || x.deviceId, weightOf(x), assignCell(x)]));
}

$('member-add').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const form = ev.currentTarget;
  try {
    const member = await api('POST', '/api/members', { name: $('member-name').value });
    form.reset();
    flash(`${member.name} added.`);
    await load();
  } catch (err) {
    showError(err);
  }
});

liveEvents((type) => {
  if (type === 'measurement') load().catch(showError);
  else if (type === 'devices') loadScales().catch(showError);
}, { reload: load });

load().catch(showError);
