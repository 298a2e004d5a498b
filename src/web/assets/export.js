// Export & forget: download everything about one member or device as JSON, or delete it for good
// after an explicit confirmation.
import { $, api, download, el, flash, showError } from './app.js';

let subjects = [];

function chosen() {
  const [kind, id] = $('export-subject').value.split(':');
  return subjects.find((s) => s.kind === kind && s.id === id);
}

async function load() {
  const [m, d] = await Promise.all([api('GET', '/api/members'), api('GET', '/api/devices')]);
  const members = (Array.isArray(m) ? m : m.members || []).map((x) => ({ kind: 'member', id: x.id, label: x.name }));
  const devices = (Array.isArray(d) ? d : d.devices || []).map((x) => ({ kind: 'device', id: x.id, label: `${x.nickname} (${x.kind})` }));
  subjects = [...members, ...devices];
  const select = $('export-subject');
  select.replaceChildren(
    el('option', { value: '', text: 'Choose…' }),
    members.length ? el('optgroup', { label: 'Members' }, ...members.map((s) => el('option', { value: `member:${s.id}`, text: s.label }))) : null,
    devices.length ? el('optgroup', { label: 'Devices' }, ...devices.map((s) => el('option', { value: `device:${s.id}`, text: s.label }))) : null,
  );
  hideConfirm();
}

function hideConfirm() {
  $('forget-confirm').hidden = true;
  $('forget-sure').checked = false;
  $('forget-confirm-button').disabled = true;
}

$('export-download').addEventListener('click', () => {
  const s = chosen();
  if (!s) return flash('Choose a member or device first.', 'warn');
  download(`/api/export/${s.kind}/${encodeURIComponent(s.id)}`, `hearth-${s.kind}-${s.id}.json`);
});

$('forget-start').addEventListener('click', () => {
  const s = chosen();
  if (!s) return flash('Choose a member or device first.', 'warn');
  $('forget-name').textContent = s.label;
  // A member is a person: "them", never "it".
  $('forget-pronoun').textContent = s.kind === 'member' ? 'them' : 'it';
  $('forget-confirm').hidden = false;
  $('forget-sure').focus();
});

$('forget-sure').addEventListener('change', () => {
  $('forget-confirm-button').disabled = !$('forget-sure').checked;
});
$('forget-cancel').addEventListener('click', hideConfirm);
$('export-subject').addEventListener('change', hideConfirm);

$('forget-confirm-button').addEventListener('click', async () => {
  const s = chosen();
  if (!s || !$('forget-sure').checked) return;
  $('forget-confirm-button').disabled = true;
  try {
    await api('POST', `/api/forget/${s.kind}/${encodeURIComponent(s.id)}`, { confirm: true });
    flash(`${s.label} was forgotten: everything stored about ${s.kind === 'member' ? 'them' : 'it'} is deleted.`);
    await load();
  } catch (err) {
    showError(err);
    $('forget-confirm-button').disabled = false;
  }
});

load().catch(showError);
