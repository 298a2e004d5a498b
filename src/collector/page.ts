/**
 * The chart page: a statistic's daily estimate as a line and its 95 % interval as a band, drawn as
 * inline SVG on the server. One HTML document, no script, nothing fetched from anywhere.
 */
import type { StatisticOut } from './stats.js';

const W = 720;
const H = 300;
const PAD = { left: 56, right: 16, top: 16, bottom: 40 };

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2);
}

export function chartSvg(series: { day: string; estimate: StatisticOut | null }[]): string {
  const points = series.map((p, i) => ({ i, day: p.day, e: p.estimate })).filter((p) => p.e && p.e.estimate !== null);
  const values = points.flatMap((p) => [p.e!.estimate!, p.e!.ci_low ?? p.e!.estimate!, p.e!.ci_high ?? p.e!.estimate!]);
  const lo = values.length ? Math.min(...values) : 0;
  const hi = values.length ? Math.max(...values) : 1;
  const span = hi - lo || 1;
  const x = (i: number) => PAD.left + ((W - PAD.left - PAD.right) * i) / Math.max(1, series.length - 1);
  const y = (v: number) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - (v - (lo - span * 0.05)) / (span * 1.1));
  const band = points.filter((p) => p.e!.ci_low !== null && p.e!.ci_high !== null);
  const bandPath = band.length
    ? `M${band.map((p) => `${x(p.i).toFixed(1)},${y(p.e!.ci_high!).toFixed(1)}`).join('L')}L${[...band].reverse().map((p) => `${x(p.i).toFixed(1)},${y(p.e!.ci_low!).toFixed(1)}`).join('L')}Z`
    : '';
  const line = points.map((p, k) => `${k ? 'L' : 'M'}${x(p.i).toFixed(1)},${y(p.e!.estimate!).toFixed(1)}`).join('');
  const ticks = [lo, (lo + hi) / 2, hi].map((v) => `<text x="${PAD.left - 6}" y="${y(v).toFixed(1)}" text-anchor="end" dominant-baseline="middle">${fmt(v)}</text>`).join('');
  const labelEvery = Math.max(1, Math.ceil(series.length / 6));
  const days = series
    .map((p, i) => (i % labelEvery === 0 || i === series.length - 1 ? `<text x="${x(i).toFixed(1)}" y="${H - PAD.bottom + 18}" text-anchor="middle">${esc(p.day.slice(5))}</text>` : ''))
    .join('');
  const dots = points.map((p) => `<circle cx="${x(p.i).toFixed(1)}" cy="${y(p.e!.estimate!).toFixed(1)}" r="2.5"><title>${esc(p.day)}: ${fmt(p.e!.estimate!)} (n=${p.e!.n})</title></circle>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" role="img" aria-label="daily estimate with 95% interval" font-size="11" font-family="sans-serif">
<rect x="${PAD.left}" y="${PAD.top}" width="${W - PAD.left - PAD.right}" height="${H - PAD.top - PAD.bottom}" fill="#fafafa" stroke="#ddd"/>
${bandPath ? `<path class="band" d="${bandPath}" fill="#9cc3e6" fill-opacity="0.5" stroke="none"/>` : ''}
${line ? `<path class="estimate" d="${line}" fill="none" stroke="#1f5f99" stroke-width="2"/>` : ''}
<g fill="#1f5f99">${dots}</g><g fill="#444">${ticks}${days}</g>
</svg>`;
}

export function chartPage(statistic: string, series: { day: string; estimate: StatisticOut | null }[]): string {
  const rows = series
    .map((p) => `<tr><td>${esc(p.day)}</td><td>${p.estimate?.n ?? 0}</td><td>${p.estimate?.estimate != null ? fmt(p.estimate.estimate) : '–'}</td><td>${p.estimate?.ci_low != null ? `${fmt(p.estimate.ci_low)} – ${fmt(p.estimate.ci_high!)}` : '–'}</td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>hearth collector: ${esc(statistic)}</title>
<style>body{font-family:sans-serif;margin:1.5rem;max-width:760px;color:#222}svg{width:100%;height:auto}table{border-collapse:collapse;font-size:.85rem}td,th{padding:.15rem .6rem;border-bottom:1px solid #eee;text-align:right}</style>
</head><body>
<h1>${esc(statistic)}</h1>
<p>Daily estimate (line) and its 95&nbsp;% interval (band), from the reports stored for each day.</p>
${chartSvg(series)}
<table><thead><tr><th>day</th><th>reports</th><th>estimate</th><th>95&nbsp;% interval</th></tr></thead><tbody>${rows}</tbody></table>
</body></html>`;
}
