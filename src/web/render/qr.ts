/**
 * QR codes as SVG, drawn on the hub (the browser loads no QR library). Used for a camera's MQTT
 * credentials, so a camera app can read them from the screen instead of them being typed.
 */
import QRCode from 'qrcode';
import { escapeHtml } from './html.js';

export interface QrOptions {
  /** Quiet zone in modules; the standard asks for 4. */
  margin?: number;
  /** Rendered size of one module in px. */
  moduleSize?: number;
  title?: string;
}

/** The longest text we encode: credentials are short, anything longer is a mistake. */
export const MAX_QR_TEXT_BYTES = 512;

/** The module matrix (true = dark), row by row. */
export function qrMatrix(text: string): boolean[][] {
  if (Buffer.byteLength(text) > MAX_QR_TEXT_BYTES) throw new RangeError(`QR text longer than ${MAX_QR_TEXT_BYTES} bytes`);
  // Medium error correction: survives a glare spot on a phone screen, keeps the symbol small.
  const qr = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const size = qr.modules.size;
  const rows: boolean[][] = [];
  for (let r = 0; r < size; r++) {
    const row: boolean[] = [];
    for (let c = 0; c < size; c++) row.push(Boolean(qr.modules.get(r, c)));
    rows.push(row);
  }
  return rows;
}

export function qrSvg(text: string, opts: QrOptions = {}): string {
  const matrix = qrMatrix(text);
  const margin = opts.margin ?? 4;
  const px = opts.moduleSize ?? 6;
  const n = matrix.length + 2 * margin;
  // One path of unit squares (runs of dark modules merged per row): small and crisp at any size.
  let d = '';
  matrix.forEach((row, r) => {
    for (let c = 0; c < row.length; ) {
      if (!row[c]) {
        c++;
        continue;
      }
      let end = c;
      while (end < row.length && row[end]) end++;
      d += `M${c + margin} ${r + margin}h${end - c}v1h${c - end}z`;
      c = end;
    }
  });
  const title = opts.title ? `<title>${escapeHtml(opts.title)}</title>` : '';
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${n} ${n}" width="${n * px}" height="${n * px}" shape-rendering="crispEdges" role="img" class="qr">` +
    `${title}<rect width="${n}" height="${n}" fill="#fff"/><path d="${d}" fill="#000"/></svg>`
  );
}

export interface MqttCredentials {
  host: string;
  port: number;
  username: string;
  password: string;
}

/** mqtt://user:password@host:port, each part percent-encoded: what a camera's setup app reads. */
export function credentialsUri(c: MqttCredentials): string {
  const host = c.host.includes(':') && !c.host.startsWith('[') ? `[${c.host}]` : c.host;
  return `mqtt://${encodeURIComponent(c.username)}:${encodeURIComponent(c.password)}@${host}:${c.port}`;
}
