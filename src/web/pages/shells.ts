/**
 * The HTML of each page: static markup only (headings, forms, empty tables with ids). The page's
 * script module under /assets/ fills it from the JSON API after load, so a page view never puts a
 * personal value into HTML that a cache or the browser history could keep.
 */
import { html, type SafeHtml } from '../render/html.js';
import { renderPage } from '../render/layout.js';
import { FIRMWARE_PROFILES } from '../../devices/camera/profiles/index.js';

interface Shell {
  title: string;
  active?: string;
  script: string;
  body: SafeHtml;
}

const table = (id: string, headings: string[], empty: SafeHtml | string) => html`<div class="table-wrap">
<table class="stack-sm" id="${id}"><thead><tr>${headings.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead><tbody></tbody></table>
</div>
<p class="muted" id="${id}-empty" hidden>${empty}</p>`;

/** The UI's own answer to an address it does not have (a mistyped or outdated link). */
export function notFoundPage(): string {
  return renderPage({
    title: 'Not found',
    signedIn: true,
    body: html`<section class="card stack">
  <h1>Nothing here</h1>
  <p>This hub has no page at this address. It may have been a link to something since removed.</p>
  <p><a href="/">Back to the dashboard</a></p>
</section>`,
  });
}

export function loginPage(): string {
  return renderPage({
    title: 'Log in',
    signedIn: false,
    script: 'login.js',
    body: html`<form class="stack card" id="login-form" method="post" action="/api/login">
  <p class="muted">This hub's web interface. The admin password was printed when the hub first started, or set with <code>hearth admin set-password</code>.</p>
  <input type="text" name="username" autocomplete="username" value="admin" hidden>
  <label>Password <input type="password" name="password" id="password" autocomplete="current-password" required maxlength="256" autofocus></label>
  <div class="actions"><button type="submit">Log in</button></div>
  <p class="banner error" id="login-error" role="alert" hidden></p>
</form>`,
  });
}

const SHELLS: Record<string, Shell> = {
  dashboard: {
    title: 'Dashboard',
    active: 'dashboard',
    script: 'dashboard.js',
    body: html`<div class="grid">
  <section class="card" aria-labelledby="h-upstream"><h2 id="h-upstream">Upstream</h2>
    <p><span class="badge" id="upstream-state">…</span></p>
    <p class="muted small" id="upstream-detail"></p>
  </section>
  <section class="card" aria-labelledby="h-today"><h2 id="h-today">Today</h2>
    <p><strong id="events-today">…</strong> camera events, <strong id="weighins-today">…</strong> weigh-ins</p>
    <p class="muted small" id="live-state">Connecting to live updates…</p>
  </section>
</div>
<section class="card" aria-labelledby="h-cams"><h2 id="h-cams">Cameras</h2>
${table('cameras', ['Camera', 'State', 'Last seen', 'Events today'], html`No cameras yet. <a href="/enrol">Enrol one</a>.`)}
</section>
<section class="card" aria-labelledby="h-scales"><h2 id="h-scales">Scales</h2>
${table('scales', ['Scale', 'Last weigh-in', 'Weigh-ins today'], html`No scales yet. <a href="/enrol">Enrol one</a>.`)}
</section>`,
  },
  devices: {
    title: 'Cameras & scales',
    active: 'devices',
    script: 'devices.js',
    body: html`<section class="card">
${table('devices', ['Device', 'Kind', 'State', 'Last seen', 'Enrolled'], html`Nothing enrolled yet. <a href="/enrol">Enrol a camera or a scale</a>.`)}
</section>`,
  },
  device: {
    title: 'Device',
    active: 'devices',
    script: 'device.js',
    body: html`<section class="card" aria-labelledby="h-state" id="state-card"><h2 id="h-state">State</h2>
  <dl class="state" id="state"></dl>
</section>
<section class="card" aria-labelledby="h-activity" id="activity-card"><h2 id="h-activity">Activity</h2>
  <div class="chart-box"><img id="activity-chart" alt="Events per day over the last year" width="520" height="180"></div>
  <p class="muted small">Events per day over the last year. The daily counts stay when old events are deleted after the retention period, so the chart covers the whole year.</p>
</section>
<p class="banner warn" id="device-removed" role="status" hidden>This device is no longer enrolled: it was removed, and everything the hub stored about it was deleted.
  <a href="/devices">All cameras &amp; scales</a></p>
<section class="card" aria-labelledby="h-events" id="events-card"><h2 id="h-events">Events</h2>
  <form class="row" id="event-filter">
    <label>Type <select name="type" id="filter-type"><option value="">All types</option></select></label>
    <label>From <input type="date" name="from" id="filter-from"></label>
    <label>To <input type="date" name="to" id="filter-to"></label>
    <button type="submit" class="secondary">Filter</button>
  </form>
  ${table('events', ['Time', 'Type', 'Detail'], 'No events match.')}
</section>`,
  },
  members: {
    title: 'Scales & members',
    active: 'members',
    script: 'members.js',
    body: html`<section class="card" aria-labelledby="h-unassigned"><h2 id="h-unassigned">Weigh-ins to assign</h2>
  <p class="muted small">Weigh-ins that matched nobody's recent weights closely enough. Say whose they are.</p>
  ${table('unassigned', ['Time', 'Scale', 'Weight', 'Member'], 'Nothing waiting.')}
</section>
<section class="card" aria-labelledby="h-scale-list"><h2 id="h-scale-list">Scales</h2>
  ${table('scale-list', ['Scale', 'Last weigh-in', 'Enrolled'], html`No scale enrolled yet. <a href="/enrol">Enrol one</a> (or <code>hearth device add scale &lt;address&gt; &lt;nickname&gt;</code>).`)}
</section>
<div id="member-charts"></div>
<p class="muted" id="no-members" hidden>No household members yet. Add one below (or with <code>hearth member add &lt;name&gt;</code>).</p>
<section class="card" aria-labelledby="h-add-member"><h2 id="h-add-member">Add a household member</h2>
  <form class="row" id="member-add">
    <label>Name <input type="text" name="name" id="member-name" required maxlength="64" autocomplete="off"></label>
    <button type="submit">Add</button>
  </form>
  <p class="muted small">Names stay on this hub, encrypted. Weigh-ins are matched to members by their recent weights.</p>
</section>`,
  },
  consent: {
    title: 'Consent',
    active: 'consent',
    script: 'consent.js',
    body: html`<p>Nothing leaves this hub unless you switch a category on here. What is sent is counted and noised on the hub first;
no names, weights, network names or addresses are ever sent. The preview below is the JSON the next report would carry,
field for field (its noise is drawn afresh when it is sent); the privacy ledger keeps the exact bytes of every report that left.</p>
<div id="categories"></div>
<section class="card" aria-labelledby="h-preview"><h2 id="h-preview">Next report (preview)</h2>
  <p class="muted small" id="preview-note"></p>
  <div id="preview-numbers"></div>
  <pre id="preview" aria-live="polite">…</pre>
</section>`,
  },
  ledger: {
    title: 'Privacy ledger',
    active: 'ledger',
    script: 'ledger.js',
    body: html`<p id="ledger-about">Every message that ever left this hub, with the time it left and its exact bytes. Each answer in a report was
drawn at random on the hub before it left (older reports: noised), so your home's own value stays hidden on purpose: an answer that
looks wrong, a negative or an unexpectedly large value is normal.</p>
<form class="row" id="ledger-search" role="search">
  <label>Search <input type="search" name="q" id="ledger-q" maxlength="200" placeholder="topic, report id, text in the message"></label>
  <button type="submit" class="secondary">Search</button>
  <a href="/api/ledger/export" id="ledger-download" download="hearth-ledger.json">Download all as JSON</a>
</form>
<p class="muted small" id="ledger-count"></p>
<section class="card" id="ledger-entries" aria-live="polite">
${table('ledger', ['Time', 'Category', 'Size', 'Message'], 'Nothing has ever left this hub.')}
</section>`,
  },
  enrol: {
    title: 'Enrol a device',
    active: 'enrol',
    script: 'enrol.js',
    body: html`<div class="grid">
<section class="card" aria-labelledby="h-cam"><h2 id="h-cam">Camera</h2>
  <form class="stack" id="enrol-camera">
    <label>Nickname <input type="text" name="nickname" id="camera-nickname" required maxlength="64" placeholder="Front door"></label>
    <label>Firmware <select name="profile" id="camera-profile">
      <option value="hearth" selected>hearth (speaks the hub's own topics)</option>
      ${Object.values(FIRMWARE_PROFILES).map((p) => html`<option value="${p.name}">${p.name}</option>`)}
    </select></label>
    <label id="camera-topic-label" hidden>Topic, as set in the camera <input type="text" name="topic" id="camera-topic" maxlength="128" autocomplete="off" spellcheck="false"></label>
    ${Object.values(FIRMWARE_PROFILES).map((p) => html`<p class="small" data-profile-help="${p.name}" hidden>${p.topicHelp}</p>`)}
    <div class="actions"><button type="submit">Enrol camera</button></div>
  </form>
  <div id="camera-credentials" hidden>
    <p class="banner warn">These credentials are shown only now. Enter them in the camera's setup (or scan the code); the hub keeps only a hash of the password.</p>
    <dl class="state">
      <dt>Broker</dt><dd><code class="secret" id="cred-broker"></code></dd>
      <dt>Username</dt><dd><code class="secret" id="cred-username"></code></dd>
      <dt>Password</dt><dd><code class="secret" id="cred-password"></code></dd>
      <dt>Topics</dt><dd><code id="cred-topics"></code></dd>
      <dt id="cred-tls-term" hidden>MQTT over TLS</dt><dd id="cred-tls" hidden><code id="cred-tls-broker"></code><br><span class="small">certificate SHA-256 <code id="cred-tls-fingerprint"></code></span></dd>
    </dl>
    <div class="qr-box" id="cred-qr"></div>
    <div class="actions"><button type="button" class="secondary" id="cred-hide">I have set up the camera: hide the credentials</button></div>
    <p class="small"><a id="cred-device" href="/devices">Open the camera's page</a></p>
  </div>
</section>
<section class="card" aria-labelledby="h-scale"><h2 id="h-scale">Scale</h2>
  <form class="stack" id="enrol-scale">
    <label>Bluetooth address <input type="text" name="address" id="scale-address" required maxlength="17" placeholder="C8:47:8C:12:34:56" autocomplete="off" spellcheck="false"></label>
    <label>Nickname <input type="text" name="nickname" id="scale-nickname" required maxlength="64" placeholder="Bathroom scale"></label>
    <div class="actions"><button type="submit">Enrol scale</button></div>
  </form>
  <p class="muted small">The address is printed under the scale or shown by <code>bluetoothctl scan on</code>.</p>
</section>
</div>`,
  },
  export: {
    title: 'Export & forget',
    active: 'export',
    script: 'export.js',
    body: html`<p>Download everything this hub stores about one household member or device (decrypted, as JSON), or forget it:
its rows are deleted and the database is compacted so the bytes are gone from the file. Forgetting cannot be undone.</p>
<section class="card">
  <form class="stack" id="export-form">
    <label>Member or device <select name="subject" id="export-subject" required><option value="">Choose…</option></select></label>
    <div class="actions">
      <button type="button" id="export-download">Download JSON</button>
      <button type="button" class="danger" id="forget-start">Forget…</button>
    </div>
  </form>
  <div id="forget-confirm" class="banner error" hidden>
    <p>Forget <strong id="forget-name"></strong> and everything stored about <span id="forget-pronoun">it</span>? This cannot be undone. Download a copy first if you may need it.</p>
    <label class="inline"><input type="checkbox" id="forget-sure"> I understand this is irrevocable</label>
    <div class="actions">
      <button type="button" class="danger" id="forget-confirm-button" disabled>Forget irrevocably</button>
      <button type="button" class="secondary" id="forget-cancel">Cancel</button>
    </div>
  </div>
</section>`,
  },
  settings: {
    title: 'Settings',
    active: 'settings',
    script: 'settings.js',
    body: html`<section class="card" aria-labelledby="h-privacy"><h2 id="h-privacy">Privacy switch</h2>
  <p class="muted small" id="privacy-state"></p>
  <div class="actions"><button type="button" id="privacy-toggle" disabled>…</button></div>
</section>
<section class="card" aria-labelledby="h-uplink"><h2 id="h-uplink">Upstream</h2>
  <form class="stack" id="settings-form">
    <label>Uplink URL <input type="url" name="uplinkUrl" id="uplink-url" maxlength="512" placeholder="mqtts://metrics.example.com:8883"></label>
    <p class="muted small">Where consented reports go. Empty: nothing is ever sent.</p>
    <label>Report interval (hours) <input type="number" name="windowHours" id="window-hours" min="1" max="744" step="1"></label>
    <label>Daily privacy budget (epsilon per day, for the whole home) <input type="number" name="dailyEpsilonBudget" id="epsilon-daily" min="0.01" max="10" step="0.01"></label>
    <label>Questions answered per day (they share the budget) <input type="number" name="questionsPerDay" id="questions-per-day" min="1" max="20" step="1"></label>
    <div class="actions"><button type="submit">Save</button></div>
    <p class="muted small" id="settings-note"></p>
  </form>
</section>
<section class="card" aria-labelledby="h-ha"><h2 id="h-ha">Home Assistant</h2>
  <p class="muted small">Lets Home Assistant on your network show your cameras (connectivity, motion, Wi-Fi signal, last seen) and the hub's
  upstream state, over MQTT on this hub. Home Assistant stores what it receives in its own database, unencrypted. SSIDs and IP
  addresses are never sent; a member's weight only if you turn it on for that member below.</p>
  <p class="muted small" id="ha-state"></p>
  <label><input type="checkbox" id="ha-share-names"> Share camera and member names with Home Assistant</label>
  <fieldset id="ha-weights"><legend>Share weights with Home Assistant</legend>
    <p class="muted small">Off for everyone unless turned on here. Home Assistant keeps every weight it receives in its own
    database, unencrypted, with its history; turning it off removes the sensor, not what Home Assistant already recorded.</p>
    <div class="stack" id="ha-weight-members"></div>
    <p class="muted small" id="ha-weight-none" hidden>No household members yet.</p>
  </fieldset>
  <div class="actions"><button type="button" id="ha-toggle" disabled>…</button></div>
  <div id="ha-credential" hidden>
    <p>In Home Assistant add the MQTT integration with this hub's address, port <code id="ha-port"></code>, username
    <code id="ha-username"></code> and password <code id="ha-password"></code>. The password is shown only now.</p>
  </div>
</section>
<section class="card" aria-labelledby="h-storage"><h2 id="h-storage">Storage and retention</h2>
  <p class="muted small" id="db-retention"></p>
  <dl class="stack" id="db-stats"></dl>
  <p class="muted small">Set with <code>retention.eventDays</code>, <code>retention.measurementDays</code>, <code>retention.ledgerDays</code> and <code>retention.lowDiskMb</code> in hearth.json or their environment variables (applied at the next start); <code>hearth db stats</code> shows the same.</p>
</section>
<section class="card" aria-labelledby="h-epsilon"><h2 id="h-epsilon">What epsilon means</h2>
  <p>No number leaves the hub as it is. Each answer is a single bit or a few, drawn at random with odds that depend
  on your home's true value: this is local differential privacy, and the noise is what protects you.
  <strong>Epsilon</strong> says how much the randomness may lean towards the truth: the smaller it is, the less anyone
  receiving the answers could learn about your household in particular.</p>
  <p>With epsilon 1, any answer is at most about 2.7 times more or less likely whatever your home's value is. The maker
  still learns its figures across many homes, because the randomness averages out over thousands of households, but
  not what happens in yours.</p>
  <p>The <strong>daily budget</strong> is for the whole home, shared by every consented category: once spent, nothing
  more is sent that day. Answers about things that rarely change (how many cameras you have) are drawn once and
  repeated, so repeating them day after day reveals nothing new.</p>
</section>`,
  },
};

export type ShellName = keyof typeof SHELLS;

export function shellPage(name: string, data?: Record<string, string>): string {
  const shell = SHELLS[name];
  if (!shell) throw new RangeError(`no page ${name}`);
  return renderPage({ ...shell, signedIn: true, ...(data ? { data } : {}) });
}

export const SHELL_NAMES = Object.keys(SHELLS);
