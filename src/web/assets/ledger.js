// Privacy ledger: every message that left the hub, newest first, as a table (time, category,
// size) whose rows open to the exact bytes and each noised number with what it means; searchable;
// the whole ledger downloads as JSON.
import { $, api, el, fillTable, fmtTime, numbersTable, parseReport, showError } from './app.js';

function bytesOf(entry) {
  if (typeof entry.payload === 'string') return entry.payload;
  if (typeof entry.payloadBase64 === 'string') return new TextDecoder().decode(Uint8Array.from(atob(entry.payloadBase64), (c) => c.charCodeAt(0)));
  return JSON.stringify(entry.payload);
}

function sizeText(bytes) {
  return bytes < 1024 ? `${bytes} bytes` : `${(bytes / 1024).toFixed(1)} KiB`;
}

function row(entry) {
  const text = bytesOf(entry);
  const size = entry.bytes ?? new TextEncoder().encode(text).length;
  const report = parseReport(text);
  const category = entry.category ?? (report && typeof report.category === 'string' ? report.category : '—');
  const message = el(
    'td',
    { class: 'ledger-entry', 'data-report-id': entry.reportId },
    el(
      'details',
      { class: 'ledger-message' },
      el('summary', {}, 'Show what was sent'),
      el('p', { class: 'muted small' }, 'To ', el('code', { text: entry.topic }), ` · report ${entry.reportId}`),
      report ? numbersTable(report) : null,
      el('pre', { class: 'ledger-bytes', text }),
    ),
  );
  return [fmtTime(entry.sentAt), category, sizeText(size), message];
}

async function load(q) {
  const data = await api('GET', `/api/ledger${q ? `?q=${encodeURIComponent(q)}` : ''}`);
  const entries = Array.isArray(data) ? data : data.entries || [];
  $('ledger-empty').textContent = q ? 'No message matches.' : 'Nothing has ever left this hub.';
  fillTable('ledger', entries.map(row));
  const total = data.total ?? entries.length;
  const messages = (n) => `${n} message${n === 1 ? '' : 's'}`;
  $('ledger-count').textContent = q ? `${entries.length} of ${messages(total)} match.` : `${messages(total)} ${total === 1 ? 'has' : 'have'} left this hub.`;
}

$('ledger-search').addEventListener('submit', (ev) => {
  ev.preventDefault();
  load($('ledger-q').value.trim()).catch(showError);
});

load('').catch(showError);
