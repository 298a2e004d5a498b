import jsQR from 'jsqr';
import { describe, expect, it } from 'vitest';
import { dailyCountsSvg, weightChartSvg, niceStep } from '../src/web/render/chart.js';
import { escapeHtml, html, trusted } from '../src/web/render/html.js';
import { NAV, renderPage } from '../src/web/render/layout.js';
import { credentialsUri, qrMatrix, qrSvg } from '../src/web/render/qr.js';

/** Rasterises our QR SVG (its one path of unit rectangles) back to RGBA pixels, as a screen would. */
function rasterise(svg: string, scale = 4): { data: Uint8ClampedArray; width: number; height: number } {
  const n = Number(/viewBox="0 0 (\d+) \d+"/.exec(svg)![1]);
  const d = /<path d="([^"]*)"/.exec(svg)![1]!;
  const size = n * scale;
  const data = new Uint8ClampedArray(size * size * 4).fill(255);
  for (const m of d.matchAll(/M(\d+) (\d+)h(\d+)v1h-\d+z/g)) {
    const [x, y, w] = [Number(m[1]), Number(m[2]), Number(m[3])];
    for (let py = y * scale; py < (y + 1) * scale; py++)
      for (let px = x * scale; px < (x + w) * scale; px++) data.fill(0, (py * size + px) * 4, (py * size + px) * 4 + 3);
  }
  return { data, width: size, height: size };
}

describe('html escaping', () => {
  it('escapes the five special characters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });

  it('the html template escapes values, keeps SafeHtml, flattens arrays and drops empty values', () => {
    const name = '<script>alert(1)</script>';
    const out = html`<p title="${name}">${name}${trusted('<b>ok</b>')}${[1, '<i>']}${null}${undefined}${false}</p>`.value;
    expect(out).toBe('<p title="&lt;script&gt;alert(1)&lt;/script&gt;">&lt;script&gt;alert(1)&lt;/script&gt;<b>ok</b>1&lt;i&gt;</p>');
  });
});

describe('page layout', () => {
  const page = renderPage({ title: 'Dash <board>', active: 'consent', body: html`<p>hi</p>`, script: 'consent.js', signedIn: true, data: { 'device-id': 'cam-"1"', 'Bad Key': 'x' } });

  it('has the viewport, one stylesheet, a module script from /assets and no inline script or style', () => {
    expect(page).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(page.match(/<link rel="stylesheet"/g)).toHaveLength(1);
    expect(page).toContain('<script type="module" src="/assets/consent.js"></script>');
    expect(page).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(page).not.toMatch(/\sstyle=|<style/);
    expect(page).not.toMatch(/\son[a-z]+=/);
  });

  it('escapes the title and data attributes and ignores unsafe attribute names', () => {
    expect(page).toContain('<title>Dash &lt;board&gt; · hearth</title>');
    expect(page).toContain('data-device-id="cam-&quot;1&quot;"');
    expect(page).not.toContain('Bad Key');
  });

  it('links every section, marks the current one and offers logout; the login page has no navigation', () => {
    for (const item of NAV) expect(page).toContain(`href="${item.href}"`);
    expect(page).toContain('<a href="/consent" aria-current="page">Consent</a>');
    expect(page.match(/aria-current/g)).toHaveLength(1);
    expect(page).toContain('id="logout"');
    const login = renderPage({ title: 'Log in', body: html`<form></form>`, signedIn: false });
    expect(login).not.toContain('<nav');
    expect(login).not.toContain('<script');
  });
});

describe('weight chart', () => {
  const day = 86_400_000;
  const t0 = Date.UTC(2026, 0, 1, 7);

  it('draws a line through every point with axis labels', () => {
    const svg = weightChartSvg([
      { at: t0 + 2 * day, value: 71.2 },
      { at: t0, value: 70.4 },
      { at: t0 + 10 * day, value: 69.8 },
    ]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<circle /g)).toHaveLength(3);
    const path = /<path d="([^"]*)"/.exec(svg)![1]!;
    expect(path.match(/[ML]/g)).toEqual(['M', 'L', 'L']);
    // Sorted by time: x increases along the path.
    const xs = [...path.matchAll(/[ML]([\d.]+) /g)].map((m) => Number(m[1]));
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
    expect(svg).toContain('>2026-01-01<');
    expect(svg).toContain('>2026-01-11<');
    expect(svg).toContain('>kg<');
    expect(svg).toContain('<title>2026-01-01: 70.4 kg</title>');
    // The y axis covers the data: lowest label <= 69.8, highest >= 71.2.
    const labels = [...svg.matchAll(/text-anchor="end"[^>]*>([\d.]+)</g)].map((m) => Number(m[1]));
    expect(Math.min(...labels)).toBeLessThanOrEqual(69.8);
    expect(Math.max(...labels)).toBeGreaterThanOrEqual(71.2);
    expect(svg).not.toMatch(/NaN|Infinity|\sstyle=/);
  });

  it('labels the x axis only under real weigh-ins, without crowding the end labels', () => {
    const xsOf = (svg: string, re: RegExp) => [...svg.matchAll(re)].map((m) => Number(m[1]));
    const dots = (svg: string) => xsOf(svg, /<circle cx="([\d.]+)"/g);
    const labels = (svg: string) => xsOf(svg, /<text x="([\d.]+)" y="\d+" text-anchor="(?:start|middle|end)" fill="#444" font-size="13">\d{4}-/g);
    // Four daily weigh-ins: the middle label is under the second or third dot, not between them.
    const four = weightChartSvg([0, 1, 2, 3].map((i) => ({ at: t0 + i * day, value: 70 + i })));
    expect(labels(four)).toHaveLength(3);
    for (const x of labels(four)) expect(dots(four)).toContain(x);
    // Weigh-ins bunched at one end leave no room for a middle label.
    const bunched = weightChartSvg([{ at: t0, value: 70 }, { at: t0 + 60_000, value: 70.2 }, { at: t0 + 30 * day, value: 71 }]);
    expect(labels(bunched)).toHaveLength(2);
  });

  it('higher weights are drawn higher (smaller y)', () => {
    const svg = weightChartSvg([
      { at: t0, value: 60 },
      { at: t0 + day, value: 80 },
    ]);
    const ys = [...svg.matchAll(/<circle cx="[\d.]+" cy="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(ys[1]).toBeLessThan(ys[0]!);
  });

  it('handles no points, one point, equal values and non-finite input', () => {
    const empty = weightChartSvg([]);
    expect(empty).toContain('No weigh-ins yet');
    expect(empty).not.toContain('<path');
    const one = weightChartSvg([{ at: t0, value: 70 }]);
    expect(one.match(/<circle /g)).toHaveLength(1);
    expect(one).not.toContain('<path');
    expect(one).not.toMatch(/NaN|Infinity/);
    const flat = weightChartSvg([
      { at: t0, value: 70 },
      { at: t0 + day, value: 70 },
      { at: t0 + 2 * day, value: 70 },
    ]);
    expect(flat).not.toMatch(/NaN|Infinity/);
    expect(flat.match(/<circle /g)).toHaveLength(3);
    const junk = weightChartSvg([
      { at: Number.NaN, value: 70 },
      { at: t0, value: Number.POSITIVE_INFINITY },
    ]);
    expect(junk).toContain('No weigh-ins yet');
  });

  it('escapes the title, unit, empty text and formatted dates', () => {
    const evil = '"><script>x</script>';
    const svg = weightChartSvg([{ at: t0, value: 70 }], { title: evil, unit: evil, formatDate: () => evil });
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;');
    expect(weightChartSvg([], { emptyText: evil })).not.toContain('<script>');
  });

  it('picks 1-2-5 steps', () => {
    expect(niceStep(10, 4)).toBe(5);
    expect(niceStep(1.4, 4)).toBe(0.5);
    expect(niceStep(2, 4)).toBe(0.5);
    expect(niceStep(0.3, 4)).toBeCloseTo(0.1);
  });
});

describe('QR code of camera credentials', () => {
  it('builds a percent-encoded mqtt URI', () => {
    expect(credentialsUri({ host: 'hub.local', port: 1883, username: 'cam-1', password: 'a/b:c@d' })).toBe('mqtt://cam-1:a%2Fb%3Ac%40d@hub.local:1883');
    expect(credentialsUri({ host: 'fe80::1', port: 1883, username: 'u', password: 'p' })).toBe('mqtt://u:p@[fe80::1]:1883');
  });

  it('decodes back to exactly the encoded credentials', () => {
    const uri = credentialsUri({ host: '192.168.1.20', port: 1883, username: 'cam-3f9c0a1b2c4d', password: 'Zk3_9vQ-x1LmNoPqRsTuVwXyZ0aB1cD2' });
    const svg = qrSvg(uri, { title: 'Camera credentials' });
    const img = rasterise(svg);
    const decoded = jsQR(img.data, img.width, img.height);
    expect(decoded?.data).toBe(uri);
    expect(svg).toContain('<title>Camera credentials</title>');
    expect(svg).not.toMatch(/\sstyle=/);
  });

  it('a different text gives a different symbol, and overlong text is refused', () => {
    expect(qrMatrix('mqtt://a:b@h:1')).not.toEqual(qrMatrix('mqtt://a:c@h:1'));
    expect(() => qrSvg('x'.repeat(600))).toThrow(RangeError);
  });

  it('a damaged symbol does not decode to the credentials (the check above can fail)', () => {
    const uri = 'mqtt://cam-1:secret@hub:1883';
    const svg = qrSvg(uri).replace(/<path d="[^"]*"/, '<path d=""');
    const img = rasterise(svg);
    expect(jsQR(img.data, img.width, img.height)?.data).not.toBe(uri);
  });
});

describe('events per day chart', () => {
  const DAY = 86_400_000;
  const from = Date.UTC(2026, 0, 1);
  const to = from + 364 * DAY;
  it('draws one bar per day with a count, inside the period, each with its date and count', () => {
    const svg = dailyCountsSvg([{ at: from, n: 3 }, { at: from + 10 * DAY, n: 120 }, { at: from + 11 * DAY, n: 0 }, { at: to + DAY, n: 9 }, { at: Number.NaN, n: 1 }], { fromAt: from, toAt: to });
    expect(svg.match(/<rect /g)).toHaveLength(2);
    expect(svg).toContain('<title>2026-01-01: 3</title>');
    expect(svg).toContain('<title>2026-01-11: 120</title>');
    // The taller bar is the larger count.
    const heights = [...svg.matchAll(/<rect [^>]*height="([0-9.]+)"/g)].map((m) => Number(m[1]));
    expect(heights[1]!).toBeGreaterThan(heights[0]! * 10);
    expect(dailyCountsSvg([], { fromAt: from, toAt: to, emptyText: 'Nothing <here>' })).toContain('Nothing &lt;here&gt;');
    expect(dailyCountsSvg([{ at: from, n: 1 }], { fromAt: from, toAt: to, title: '<script>' })).not.toContain('<script>');
  });
});
