/**
 * Headless Chromium (Debian's package) for the web UI tests, driven by playwright-core, and a watch
 * on each page for what must never happen: a request to another origin, a Content-Security-Policy
 * refusal, an uncaught script error.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT } from './hub.js';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Screenshots of the pages, for people to look at (git-ignored). */
export const SCREENSHOTS = join(ROOT, 'test-artifacts', 'screenshots');

/** A fresh browser with its own temporary profile (removed again on close). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

export interface PageWatch {
  /** URLs the page requested outside `origin`. */
  foreignRequests: string[];
  /** CSP refusals, from the browser's securitypolicyviolation event and its console. */
  cspViolations: string[];
  pageErrors: string[];
}

export async function watchPage(page: Page, origin: string, into?: PageWatch): Promise<PageWatch> {
  const watch = into ?? { foreignRequests: [], cspViolations: [], pageErrors: [] };
  page.on('request', (req) => {
    if (!req.url().startsWith(`${origin}/`)) watch.foreignRequests.push(req.url());
  });
  page.on('console', (msg) => {
    if (/Content Security Policy|Refused to/i.test(msg.text())) watch.cspViolations.push(msg.text());
  });
  page.on('pageerror', (err) => watch.pageErrors.push(String(err)));
  await page.exposeFunction('hearthCspViolation', (what: string) => watch.cspViolations.push(what));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window as unknown as { hearthCspViolation(what: string): void }).hearthCspViolation(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return watch;
}
