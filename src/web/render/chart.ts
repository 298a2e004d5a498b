/**
 * A member's weight history as an SVG line chart, drawn on the hub so the browser needs no
 * charting library. Pure: points in, markup out. Every text is escaped; nothing in the output
 * uses style attributes (the CSP forbids inline styles), only SVG presentation attributes.
 */
import { escapeHtml } from './html.js';

export interface ChartPoint {
  /** Time of the weigh-in, ms since the epoch. */
  at: number;
  value: number;
}

export interface ChartOptions {
  width?: number;
  height?: number;
  unit?: string;
  /** Accessible name of the chart. */
  title?: string;
  /** Formats an x-axis date; by default YYYY-MM-DD in UTC. */
  formatDate?: (at: number) => string;
  emptyText?: string;
}

const MARGIN = { top: 16, right: 16, bottom: 36, left: 56 };
/** About how wide a YYYY-MM-DD label is at the chart's font size. */
const DATE_LABEL_PX = 80;

export function isoDate(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

/** A step of 1, 2 or 5 × 10^n giving about `count` intervals over `span`. */
export function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  const nice = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10;
  return nice * magnitude;
}

function fmt(n: number): string {
  // Two decimals at most keep the markup small and stable.
  return String(Math.round(n * 100) / 100);
}

function decimalsOf(step: number): number {
  return step >= 1 ? 0 : Math.min(3, Math.ceil(-Math.log10(step)));
}

export function weightChartSvg(input: readonly ChartPoint[], opts: ChartOptions = {}): string {
  const width = opts.width ?? 520;
  const height = opts.height ?? 260;
  const unit = opts.unit ?? 'kg';
  const title = opts.title ?? 'Weight history';
  const formatDate = opts.formatDate ?? isoDate;
  const points = input.filter((p) => Number.isFinite(p.at) && Number.isFinite(p.value)).sort((a, b) => a.at - b.at);
  const open = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}" class="chart" font-family="system-ui, sans-serif">`;
  const titleEl = `<title>${escapeHtml(title)}</title>`;
  if (points.length === 0) {
    const text = escapeHtml(opts.emptyText ?? 'No weigh-ins yet');
    return `${open}${titleEl}<text x="${width / 2}" y="${height / 2}" text-anchor="middle" fill="#666" font-size="14">${text}</text></svg>`;
  }

  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const values = points.map((p) => p.value);
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  // Equal values (or one point) would make a zero-height range: give it a band around the value.
  if (hi - lo < 1e-9) {
    lo -= 1;
    hi += 1;
  }
  const step = niceStep(hi - lo, 4);
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const t0 = points[0]!.at;
  const t1 = points[points.length - 1]!.at;
  const x = (at: number) => (t1 === t0 ? MARGIN.left + plotW / 2 : MARGIN.left + ((at - t0) / (t1 - t0)) * plotW);
  const y = (v: number) => MARGIN.top + (1 - (v - lo) / (hi - lo)) * plotH;

  const parts: string[] = [open, titleEl];
  const decimals = decimalsOf(step);
  // Horizontal grid and y labels.
  for (let v = lo, i = 0; v <= hi + step / 2 && i < 50; v += step, i++) {
    const yy = fmt(y(v));
    parts.push(`<line x1="${MARGIN.left}" y1="${yy}" x2="${width - MARGIN.right}" y2="${yy}" stroke="#ddd" stroke-width="1"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle" fill="#444" font-size="13">${escapeHtml(v.toFixed(decimals))}</text>`);
  }
  // Axis unit and x labels (first and last date, one in the middle when they differ).
  parts.push(`<text x="12" y="${MARGIN.top + plotH / 2}" text-anchor="middle" fill="#444" font-size="13" transform="rotate(-90 12 ${MARGIN.top + plotH / 2})">${escapeHtml(unit)}</text>`);
  // The middle label sits under a real weigh-in (the one nearest the middle), and only when it
  // has room between the end labels: a date halfway between two weigh-ins would name no dot.
  const xTicks = t1 === t0 ? [t0] : [t0, t1];
  if (points.length > 2) {
    const mid = points.reduce((best, p) => (Math.abs(p.at - (t0 + t1) / 2) < Math.abs(best.at - (t0 + t1) / 2) ? p : best)).at;
    if (x(mid) - x(t0) >= DATE_LABEL_PX * 1.5 && x(t1) - x(mid) >= DATE_LABEL_PX * 1.5) xTicks.splice(1, 0, mid);
  }
  xTicks.forEach((at, i) => {
    const anchor = xTicks.length === 1 ? 'middle' : i === 0 ? 'start' : i === xTicks.length - 1 ? 'end' : 'middle';
    parts.push(`<text x="${fmt(x(at))}" y="${height - 12}" text-anchor="${anchor}" fill="#444" font-size="13">${escapeHtml(formatDate(at))}</text>`);
  });
  parts.push(`<line x1="${MARGIN.left}" y1="${MARGIN.top + plotH}" x2="${width - MARGIN.right}" y2="${MARGIN.top + plotH}" stroke="#888" stroke-width="1"/>`);
  // The line, then a dot per weigh-in with its value as a tooltip.
  if (points.length > 1) {
    const d = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${fmt(x(p.at))} ${fmt(y(p.value))}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="#2a6f97" stroke-width="2" stroke-linejoin="round"/>`);
  }
  for (const p of points) {
    const label = `${formatDate(p.at)}: ${p.value.toFixed(1)} ${unit}`;
    parts.push(`<circle cx="${fmt(x(p.at))}" cy="${fmt(y(p.value))}" r="3" fill="#2a6f97"><title>${escapeHtml(label)}</title></circle>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

/** One day's count for a bar chart: the day's start (ms since the epoch, UTC) and its count. */
export interface DayCount {
  at: number;
  n: number;
}

/**
 * Counts per day as an SVG bar chart (a device's events per day over its history, all-time counts
 * from the roll-ups). Days without a count are gaps; bars get at least one pixel. Pure.
 */
export function dailyCountsSvg(input: readonly DayCount[], opts: ChartOptions & { fromAt: number; toAt: number }): string {
  const width = opts.width ?? 520;
  const height = opts.height ?? 180;
  const title = opts.title ?? 'Events per day';
  const formatDate = opts.formatDate ?? isoDate;
  const open = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}" class="chart" font-family="system-ui, sans-serif">`;
  const titleEl = `<title>${escapeHtml(title)}</title>`;
  const days = input.filter((d) => Number.isFinite(d.at) && Number.isFinite(d.n) && d.n > 0 && d.at >= opts.fromAt && d.at <= opts.toAt);
  if (days.length === 0) {
    const text = escapeHtml(opts.emptyText ?? 'No events in this period');
    return `${open}${titleEl}<text x="${width / 2}" y="${height / 2}" text-anchor="middle" fill="#666" font-size="14">${text}</text></svg>`;
  }
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const span = Math.max(1, opts.toAt - opts.fromAt);
  const slots = Math.max(1, Math.round(span / 86_400_000) + 1);
  const barW = Math.max(1, plotW / slots - (plotW / slots > 3 ? 1 : 0));
  const step = niceStep(Math.max(...days.map((d) => d.n)), 3);
  const hi = Math.max(step, Math.ceil(Math.max(...days.map((d) => d.n)) / step) * step);
  const x = (at: number) => MARGIN.left + ((at - opts.fromAt) / span) * (plotW - barW);
  const y = (v: number) => MARGIN.top + (1 - v / hi) * plotH;
  const parts: string[] = [open, titleEl];
  const decimals = decimalsOf(step);
  for (let v = 0, i = 0; v <= hi + step / 2 && i < 50; v += step, i++) {
    const yy = fmt(y(v));
    parts.push(`<line x1="${MARGIN.left}" y1="${yy}" x2="${width - MARGIN.right}" y2="${yy}" stroke="#ddd" stroke-width="1"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle" fill="#444" font-size="13">${escapeHtml(v.toFixed(decimals))}</text>`);
  }
  parts.push(`<text x="${MARGIN.left}" y="${height - 12}" text-anchor="start" fill="#444" font-size="13">${escapeHtml(formatDate(opts.fromAt))}</text>`);
  parts.push(`<text x="${width - MARGIN.right}" y="${height - 12}" text-anchor="end" fill="#444" font-size="13">${escapeHtml(formatDate(opts.toAt))}</text>`);
  for (const d of days) {
    const top = y(d.n);
    const h = Math.max(1, MARGIN.top + plotH - top);
    parts.push(`<rect x="${fmt(x(d.at))}" y="${fmt(MARGIN.top + plotH - h)}" width="${fmt(barW)}" height="${fmt(h)}" fill="#2a6f97"><title>${escapeHtml(`${formatDate(d.at)}: ${d.n}`)}</title></rect>`);
  }
  parts.push(`<line x1="${MARGIN.left}" y1="${MARGIN.top + plotH}" x2="${width - MARGIN.right}" y2="${MARGIN.top + plotH}" stroke="#888" stroke-width="1"/>`);
  parts.push('</svg>');
  return parts.join('');
}
