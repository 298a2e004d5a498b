// Shared by every page script: JSON API calls with the session cookie and the CSRF header, DOM
// building through textContent only (no markup from data, ever), time formatting, live events.

let csrfToken = null;

/** The CSRF token of this session (GET /api/session), fetched once per page load. */
export async function csrf() {
  if (csrfToken) return csrfToken;
  // The login page has no session yet, and its one state change (POST /api/login) needs no token.
  if (location.pathname === '/login') return null;
  const res = await fetch('/api/session', { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (res.status === 401) return toLogin();
  const body = await res.json().catch(() => ({}));
  csrfToken = body.csrfToken ?? null;
  return csrfToken;
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function toLogin() {
  if (location.pathname !== '/login') location.assign('/login');
  return new Promise(() => {}); // the page is going away
}

/**
 * Calls the JSON API. State changes carry X-CSRF-Token; a lost session goes back to the login page.
 * A token refused once is fetched again and the call retried: logging in from another tab starts
 * a new session (with its own token) under the same cookie name.
 */
export async function api(method, url, body, retried = false) {
  const headers = { accept: 'application/json' };
  const changes = method !== 'GET' && method !== 'HEAD';
  if (changes) {
    const token = await csrf();
    if (token) headers['x-csrf-token'] = token;
  }
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401 && location.pathname !== '/login') return toLogin();
  if (res.status === 403 && changes && csrfToken && !retried) {
    csrfToken = null;
    return api(method, url, body, true);
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) throw new ApiError(res.status, (data && (data.reason || data.error)) || `request failed (${res.status})`);
  return data;
}

/** Creates an element; children are nodes or text (set as text, never parsed as HTML). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) node.append(c instanceof Node ? c : String(c));
  return node;
}

export const $ = (id) => document.getElementById(id);

/**
 * Fills a table body from rows of cells; shows the "empty" note when there are none. Each cell
 * carries its column heading (data-label), which the phone layout shows beside the stacked value.
 */
export function fillTable(id, rows) {
  const table = $(id);
  const headings = [...table.querySelectorAll('thead th')].map((th) => th.textContent);
  const cell = (c, i) => {
    const td = c instanceof Node && c.nodeName === 'TD' ? c : el('td', {}, c);
    if (headings[i]) td.dataset.label = headings[i];
    return td;
  };
  table.querySelector('tbody').replaceChildren(...rows.map((cells) => el('tr', {}, ...cells.map(cell))));
  const empty = $(`${id}-empty`);
  if (empty) {
    empty.hidden = rows.length > 0;
    // Headings over nothing only push the note down.
    const wrap = table.closest('.table-wrap');
    if (wrap) wrap.hidden = rows.length === 0;
  }
}

export function fmtTime(ms) {
  if (ms === null || ms === undefined) return 'never';
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return '—';
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function fmtAgo(ms) {
  if (ms === null || ms === undefined) return 'never';
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return fmtTime(ms);
}

export function badge(text, kind) {
  return el('span', { class: `badge ${kind}`, text });
}

/** A short message at the top of the page (role=status), replaced by the next one. */
export function flash(message, kind = '') {
  const node = $('flash');
  node.textContent = message;
  node.className = `banner ${kind}`;
  node.hidden = false;
}

export function showError(err) {
  flash(err instanceof Error ? err.message : String(err), 'error');
}

/**
 * Server-sent events from /api/events: onEvent(type, data) per change, onState(connected) when the
 * stream goes up or down, reload() after a gap (changes made meanwhile were missed).
 * EventSource retries by itself after a dropped connection but gives up on an HTTP error: a 401
 * once the hub restarted (sessions live in memory) sends the page to the login, anything else is
 * retried a little later.
 */
export function liveEvents(onEvent, { onState, reload } = {}) {
  let wasDown = false;
  const deliver = (type) => (ev) => {
    let data = null;
    try {
      data = JSON.parse(ev.data);
    } catch {
      return;
    }
    onEvent(type === 'message' ? (data && data.type) || 'message' : type, data);
  };
  const connect = () => {
    const source = new EventSource('/api/events');
    for (const type of ['message', 'devices', 'presence', 'status', 'event', 'measurement', 'privacy', 'storage']) source.addEventListener(type, deliver(type));
    source.addEventListener('open', () => {
      if (onState) onState(true);
      if (wasDown && reload) Promise.resolve(reload()).catch(showError);
      wasDown = false;
    });
    source.addEventListener('error', () => {
      wasDown = true;
      if (onState) onState(false);
      if (source.readyState === EventSource.CLOSED) void recover();
    });
  };
  const recover = async () => {
    const res = await fetch('/api/session', { credentials: 'same-origin', headers: { accept: 'application/json' } }).catch(() => null);
    if (res && res.status === 401) return toLogin();
    setTimeout(connect, 5000);
  };
  connect();
}

/** Starts a download of a same-origin URL without leaving the page. */
export function download(url, filename) {
  const a = el('a', { href: url, download: filename || '' });
  document.body.append(a);
  a.click();
  a.remove();
}

async function logout() {
  try {
    await api('POST', '/api/logout', {});
  } finally {
    location.assign('/login');
  }
}

/** Shows the storage problem banner when the hub cannot write (disk full, read-only). */
export function showStorage(status) {
  const banner = $('storage-banner');
  if (!banner || !status) return;
  const storage = status.storage || status;
  if (storage && storage.healthy === false) {
    banner.textContent = `The hub cannot store new data right now (${storage.problem || 'storage problem'}). Devices are being refused until it can write again; free some disk space.`;
    banner.hidden = false;
  } else if (storage && storage.lowDisk) {
    const free = typeof storage.diskFreeBytes === 'number' ? ` (${(storage.diskFreeBytes / 1e6).toFixed(0)} MB free)` : '';
    banner.textContent = `The disk holding the hub's database is nearly full${free}. Free some space, or keep events for fewer days (retention.eventDays), before the hub has to refuse data.`;
    banner.hidden = false;
  } else banner.hidden = true;
}

document.addEventListener('DOMContentLoaded', () => {
  const button = $('logout');
  if (button) button.addEventListener('click', () => void logout());
});

/** Said next to every number a report carries: it is noised before it may leave the hub. */
export const NOISE_NOTE = 'Noised on purpose, so this home’s own value stays hidden; negative or unexpectedly large values are normal.';
/** Format 2 answers are random bits whose odds lean towards the truth. */
export const RANDOM_ANSWER_NOTE = 'Drawn at random on purpose, so this home’s own value stays hidden; an answer that looks wrong is normal. Only many homes together tell the maker anything.';

/** A format 2 answer's bits as text: "1", or "b0=0 b3=1" for a histogram. */
function answerBits(a) {
  if (typeof a.bit === 'number') return String(a.bit);
  if (a.bits && typeof a.bits === 'object') return Object.entries(a.bits).map(([k, v]) => `b${k}=${v}`).join(' ');
  return '';
}

/** The numbers of a report that are noised, as [name, value] pairs: format 1's `metrics`, format 2's answers. */
export function noisedNumbers(report) {
  if (report && report.v === 2 && report.answers && typeof report.answers === 'object') {
    return Object.entries(report.answers).map(([q, a]) => [q, `${answerBits(a)} (ε ${Number(a.epsilon).toFixed(2)}${a.memo ? ', repeated' : ''})`]);
  }
  const out = [];
  const walk = (value, path) => {
    if (typeof value === 'number') out.push([path, value]);
    else if (value && typeof value === 'object' && !Array.isArray(value)) for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k);
  };
  walk(report && report.metrics, '');
  return out;
}

/** A table of a report's noised numbers, each with what it means; null when it has none. */
export function numbersTable(report) {
  const rows = noisedNumbers(report);
  if (!rows.length) return null;
  const head = ['Number', 'Value', 'What it means'];
  return el(
    'div',
    { class: 'table-wrap' },
    el(
      'table',
      { class: 'numbers stack-sm' },
      el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col', text: h })))),
      el(
        'tbody',
        {},
        ...rows.map(([name, value]) =>
          el('tr', {}, el('td', { 'data-label': head[0] }, el('code', { text: name })), el('td', { 'data-label': head[1], class: 'num', text: String(value) }), el('td', { 'data-label': head[2], class: 'small muted noise-note', text: report.v === 2 ? RANDOM_ANSWER_NOTE : NOISE_NOTE })),
        ),
      ),
    ),
  );
}

/** Parses a report's JSON text; undefined when it is not JSON. */
export function parseReport(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
