// Privacy ledger: every message that left the hub, newest first, with its exact bytes; searchable;
// the whole ledger downloads as JSON.
import { $, api, el, fmtTime, showError } from './app.js';

function bytesOf(entry) {
  if (typeof entry.payload === 'string') return entry.payload;
  if (typeof entry.payloadBase64 === 'string') return new TextDecoder().decode(Uint8Array.from(atob(entry.payloadBase64), (c) => c.charCodeAt(0)));
  return JSON.stringify(entry.payload);
}

function entryNode(entry) {
  const text = bytesOf(entry);
  const size = entry.bytes ?? new TextEncoder().encode(text).length;
  return el(
    'article',
    { class: 'ledger-entry', 'data-report-id': entry.reportId },
    el('p', {}, el('strong', { text: fmtTime(entry.sentAt) }), ' · ', el('code', { text: entry.topic }), el('span', { class: 'muted small', text: ` · ${size} bytes · report ${entry.reportId}` })),
    el('pre', { class: 'ledger-bytes', text }),
  );
}

async function load(q) {
  const data = await api('GET', `/api/ledger${q ? `?q=${encodeURIComponent(q)}` : ''}`);
  const entries = Array.isArray(data) ? data : data.entries || [];
  $('ledger-entries').replaceChildren(...(entries.length ? entries.map(entryNode) : [el('p', { class: 'muted', text: q ? 'No message matches.' : 'Nothing has ever left this hub.' })]));
  const total = data.total ?? entries.length;
  const messages = (n) => `${n} message${n === 1 ? '' : 's'}`;
  $('ledger-count').textContent = q ? `${entries.length} of ${messages(total)} match.` : `${messages(total)} ${total === 1 ? 'has' : 'have'} left this hub.`;
}

$('ledger-search').addEventListener('submit', (ev) => {
  ev.preventDefault();
  load($('ledger-q').value.trim()).catch(showError);
});

load('').catch(showError);
