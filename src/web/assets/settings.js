// Settings: the uplink, the report interval, the home's daily epsilon and its questions; the privacy pause; Home Assistant.
import { $, api, flash, showError } from './app.js';

let paused = false;

function renderPrivacy(status) {
  const p = status.privacy || status;
  paused = Boolean(p.pausedByCommand ?? p.paused);
  const bySwitch = Boolean(p.pausedBySwitch);
  $('privacy-state').textContent = bySwitch
    ? 'The privacy switch on the hub is on: nothing leaves the hub whatever is set here.'
    : paused
      ? 'Paused: nothing leaves the hub until you resume.'
      : 'Not paused: consented reports may leave the hub.';
  const button = $('privacy-toggle');
  button.textContent = paused ? 'Resume upstream' : 'Pause everything upstream';
  button.disabled = false;
}

const MB = 1e6;
const mb = (b) => (b === null || b === undefined ? 'unknown' : `${(b / MB).toFixed(1)} MB`);
const when = (t) => (t ? new Date(t).toLocaleString() : 'none');

function renderStorage(s) {
  const r = s.retention;
  const days = (n) => (n === 0 ? 'for ever' : `${n} days`);
  $('db-retention').textContent = `Events are kept ${days(r.eventDays)} (older ones stay as daily counts per device and type), weigh-ins ${days(r.measurementDays)}, the ledger of sent reports ${days(r.ledgerDays)}.`;
  const p = s.lastPurge;
  const rows = [
    ['Database', `${mb(s.databaseBytes)} (write-ahead log ${mb(s.walBytes)})`],
    ['Free disk space', `${mb(s.diskFreeBytes)}${s.lowDisk ? ` — low (warning under ${r.lowDiskMb} MB)` : ''}`],
    ['Events kept', `${s.rows.events ?? 0}${s.bytesPerEvent ? `, about ${s.bytesPerEvent} bytes each` : ''}`],
    ['Oldest event', when(s.oldestEventAt)],
    ['Daily counts kept', String(s.rows.event_days ?? 0)],
    ['Last clean-up', p ? `${when(p.finishedAt)}: ${p.events} events, ${p.measurements} weigh-ins, ${p.ledger} ledger entries removed` : 'not yet'],
  ];
  const list = $('db-stats');
  list.replaceChildren();
  for (const [k, v] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    list.append(dt, dd);
  }
}

async function load() {
  api('GET', '/api/db/stats').then(renderStorage).catch(showError);
  const [settings, status] = await Promise.all([api('GET', '/api/settings'), api('GET', '/api/status')]);
  // Values saved but not yet in use (they apply at the next start) are the ones to edit further.
  const s = { ...(settings.uplink || settings), ...(settings.saved || {}) };
  $('uplink-url').value = s.url ?? s.uplinkUrl ?? '';
  const windowSeconds = s.windowSeconds ?? 86400;
  $('window-hours').value = String(Math.round(windowSeconds / 3600));
  $('epsilon-daily').value = String(s.dailyEpsilonBudget ?? '');
  $('questions-per-day').value = String(s.questionsPerDay ?? '');
  $('settings-note').textContent = settings.note || '';
  renderPrivacy(status);
}

$('settings-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const url = $('uplink-url').value.trim();
  const body = {
    uplink: {
      url: url || null,
      windowSeconds: Math.round(Number($('window-hours').value) * 3600),
      dailyEpsilonBudget: Number($('epsilon-daily').value),
      questionsPerDay: Number($('questions-per-day').value),
    },
  };
  try {
    const res = await api('PUT', '/api/settings', body);
    flash((res && res.note) || 'Settings saved.');
    await load();
  } catch (err) {
    showError(err);
  }
});

$('privacy-toggle').addEventListener('click', async () => {
  $('privacy-toggle').disabled = true;
  try {
    await api('PUT', '/api/privacy', { paused: !paused });
    await load();
  } catch (err) {
    showError(err);
    $('privacy-toggle').disabled = false;
  }
});

let haEnabled = false;

// One switch per member; names go in as text, never as markup.
async function renderWeightSharing(shared) {
  const { members } = await api('GET', '/api/members');
  const list = $('ha-weight-members');
  list.replaceChildren(
    ...members.map((m) => {
      const label = document.createElement('label');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.dataset.memberId = m.id;
      box.checked = shared.includes(m.id);
      box.addEventListener('change', async () => {
        box.disabled = true;
        try {
          const ha = await api('PUT', `/api/integrations/home-assistant/weights/${encodeURIComponent(m.id)}`, { share: box.checked });
          box.checked = ha.weightMembers.includes(m.id);
        } catch (err) {
          box.checked = !box.checked;
          showError(err);
        } finally {
          box.disabled = false;
        }
      });
      label.append(box, ` ${m.name}`);
      return label;
    }),
  );
  $('ha-weight-none').hidden = members.length > 0;
}

function renderHomeAssistant(ha) {
  renderWeightSharing(ha.weightMembers ?? []).catch(showError);
  haEnabled = Boolean(ha.enabled);
  $('ha-state').textContent = haEnabled ? 'On: Home Assistant may connect with its own MQTT account.' : 'Off: Home Assistant cannot connect.';
  $('ha-share-names').checked = Boolean(ha.shareNames);
  const button = $('ha-toggle');
  button.textContent = haEnabled ? 'Turn off and remove from Home Assistant' : 'Turn on';
  button.disabled = false;
}

async function setHomeAssistant(body) {
  $('ha-toggle').disabled = true;
  try {
    const ha = await api('PUT', '/api/integrations/home-assistant', body);
    renderHomeAssistant(ha);
    if (ha.password) {
      $('ha-username').textContent = ha.username;
      $('ha-port').textContent = String(ha.port);
      $('ha-password').textContent = ha.password;
      $('ha-credential').hidden = false;
    } else if (!ha.enabled) {
      $('ha-password').textContent = '';
      $('ha-credential').hidden = true;
    }
  } catch (err) {
    showError(err);
    $('ha-toggle').disabled = false;
  }
}

$('ha-toggle').addEventListener('click', () => setHomeAssistant({ enabled: !haEnabled, shareNames: $('ha-share-names').checked }));
$('ha-share-names').addEventListener('change', () => setHomeAssistant({ enabled: haEnabled, shareNames: $('ha-share-names').checked }));

load().catch(showError);
api('GET', '/api/integrations/home-assistant').then(renderHomeAssistant, showError);
