// Consent: one switch per category with what it sends, and the exact JSON the next report would
// carry, refreshed after every change.
import { $, api, el, fmtTime, numbersTable, parseReport, showError } from './app.js';

const TITLES = { adoption: 'Device adoption', 'device-health': 'Device health', 'scale-usage': 'Scale usage' };

// Plain-language descriptions; the hub may send its own (description field), which wins.
const ABOUT = {
  adoption: 'How many cameras were activated, and how many cameras and scales this home has. Tells the maker how devices are taken up.',
  'device-health': 'How often cameras tried and failed to connect, how long they were online, how often they rebooted. Helps the maker find faults.',
  'scale-usage': 'How many weigh-ins happened: a count only. No weight, body value or name ever leaves the hub.',
};

async function loadPreview() {
  const note = $('preview-note');
  try {
    const preview = await api('GET', '/api/consent/preview');
    // The exact bytes when the hub gives them as text; otherwise the JSON as received.
    const reports = Array.isArray(preview) ? preview : preview.reports ?? [preview];
    const texts = reports.map((r) => (typeof r === 'string' ? r : typeof r.json === 'string' ? r.json : JSON.stringify(r.report ?? r, null, 2)));
    $('preview').textContent = texts.length ? texts.join('\n\n') : 'Nothing: no category is switched on, so no report would be made.';
    note.textContent = preview.note || (texts.length ? 'Numbers are noised when the report is made, so the values sent will differ from these.' : '');
    // Each number with what it means, next to it.
    $('preview-numbers').replaceChildren(
      ...texts.flatMap((text, i) => {
        const report = parseReport(text);
        const table = report && numbersTable(report);
        return table ? [el('h3', { text: `${report.category ?? reports[i].category ?? 'report'}: the numbers` }), table] : [];
      }),
    );
  } catch (err) {
    $('preview').textContent = '';
    $('preview-numbers').replaceChildren();
    note.textContent = `No preview: ${err.message}`;
  }
}

function categoryCard(c) {
  const input = el('input', { type: 'checkbox', role: 'switch', id: `consent-${c.category}`, 'data-category': c.category });
  input.checked = Boolean(c.enabled);
  input.addEventListener('change', async () => {
    input.disabled = true;
    try {
      await api('PUT', `/api/consent/${encodeURIComponent(c.category)}`, { enabled: input.checked });
      state.textContent = input.checked ? 'On: included in reports from now on.' : 'Off: nothing from this category is sent; queued reports of it were dropped.';
      await loadPreview();
    } catch (err) {
      input.checked = !input.checked;
      showError(err);
    } finally {
      input.disabled = false;
    }
  });
  const state = el('p', { class: 'muted small', text: c.enabled ? `On since ${fmtTime(c.since ?? c.changedAt)}.` : 'Off.' });
  const metrics = Array.isArray(c.metrics) && c.metrics.length
    ? el('ul', { class: 'small' }, ...c.metrics.map((m) => el('li', {}, el('code', { text: m.name }), ` — ${m.help ?? ''}`)))
    : null;
  return el(
    'section',
    { class: 'card', 'aria-labelledby': `h-${c.category}` },
    el('h2', { id: `h-${c.category}` }, el('label', { class: 'switch', for: `consent-${c.category}` }, input, c.title || TITLES[c.category] || c.category, ' ', el('code', { class: 'small', text: c.category }))),
    el('p', { text: c.description || ABOUT[c.category] || '' }),
    metrics,
    state,
  );
}

async function load() {
  const data = await api('GET', '/api/consent');
  const list = Array.isArray(data) ? data : data.categories || [];
  $('categories').replaceChildren(...list.map(categoryCard));
  await loadPreview();
}

load().catch(showError);
