/**
 * The frame every page shares: head (viewport, the one stylesheet, the page's script module), the
 * navigation and a main element the page's script fills from the JSON API. No inline script or
 * style anywhere: the Content-Security-Policy allows only the hub's own /assets/.
 */
import { html, type SafeHtml } from './html.js';

export interface NavItem {
  key: string;
  href: string;
  label: string;
}

export const NAV: readonly NavItem[] = [
  { key: 'dashboard', href: '/', label: 'Dashboard' },
  { key: 'devices', href: '/devices', label: 'Cameras & scales' },
  { key: 'members', href: '/members', label: 'Scales & members' },
  { key: 'consent', href: '/consent', label: 'Consent' },
  { key: 'ledger', href: '/ledger', label: 'Privacy ledger' },
  { key: 'enrol', href: '/enrol', label: 'Enrol' },
  { key: 'export', href: '/export', label: 'Export & forget' },
  { key: 'settings', href: '/settings', label: 'Settings' },
];

export const STYLESHEET = '/assets/hearth.css';

export interface PageOptions {
  title: string;
  /** Which NAV entry is the current page; none on the login page. */
  active?: string;
  body: SafeHtml;
  /** A module under /assets/ that drives the page, e.g. 'dashboard.js'. */
  script?: string;
  /** Pages behind the login show the navigation and the logout button. */
  signedIn: boolean;
  /** data-* attributes for <main>, how a page hands ids to its script without inline code. */
  data?: Record<string, string>;
}

export function renderPage(opts: PageOptions): string {
  const nav = opts.signedIn
    ? html`<nav class="nav" aria-label="Main">
  <ul>${NAV.map((item) => html`
    <li><a href="${item.href}"${item.key === opts.active ? html` aria-current="page"` : ''}>${item.label}</a></li>`)}
    <li><button type="button" class="link" id="logout">Log out</button></li>
  </ul>
</nav>`
    : '';
  const data = Object.entries(opts.data ?? {})
    .filter(([k]) => /^[a-z][a-z0-9-]*$/.test(k))
    .map(([k, v]) => html` data-${k}="${v}"`);
  const doc = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${opts.title} · hearth</title>
<link rel="stylesheet" href="${STYLESHEET}">
<link rel="icon" href="/assets/icon.svg" type="image/svg+xml">
${opts.script ? html`<script type="module" src="/assets/${opts.script}"></script>` : ''}
</head>
<body>
<header class="top">
  <a class="brand" href="/">hearth</a>
  ${nav}
</header>
<main id="main"${data}>
<h1>${opts.title}</h1>
<p class="banner error" id="storage-banner" hidden></p>
<p class="banner" id="flash" role="status" hidden></p>
${opts.body}
</main>
</body>
</html>
`;
  return doc.value;
}
