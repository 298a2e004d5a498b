/**
 * The web UI's pages: server-rendered HTML shells plus the static scripts and stylesheet they load.
 * Data comes from the JSON API (/api/...), fetched by the page scripts with the session cookie and
 * the CSRF header; the hub itself renders only what the browser should not need a library for:
 * the weight chart (SVG) and the QR code of a new camera's credentials (SVG).
 *
 * Authorization is not decided here: the server's session hook guards every route except those
 * it lists as public (GET /login and /assets/*).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { DeviceActivityChartRoute, DevicePageRoute, DeviceRedirectRoute, EnrolQrRoute, PageRoute, WeightChartRoute } from '../api/schemas.js';
import { DEVICE_ID_PATTERN } from '../../devices/registry.js';
import { MEMBER_ID_PATTERN } from '../../members/store.js';
import { DAY_MS } from '../../store/event-totals.js';
import { dailyCountsSvg, weightChartSvg, type ChartPoint, type DayCount } from '../render/chart.js';
import { credentialsUri, qrSvg } from '../render/qr.js';
import { registerAssets } from './assets.js';
import { loginPage, shellPage } from './shells.js';

export interface PagesDeps {
  /** One member's weigh-ins (kg, oldest first), or undefined when there is no such member. */
  weightHistory(memberId: string): { name: string; points: ChartPoint[] } | undefined;
  /** A device's events per day (all types) in [fromAt, toAt], or undefined when there is no such device. */
  deviceActivity(deviceId: string, fromAt: number, toAt: number): DayCount[] | undefined;
  /** Where cameras reach the MQTT broker, given the host name the browser used for the page. */
  mqttEndpoint(requestHost: string): { host: string; port: number };
}

/** How far back the device page's activity chart goes. */
const ACTIVITY_DAYS = 365;

/** Host names and IP literals; anything else in a Host header is not put into a QR code. */
const HOST_NAME = /^(\[[0-9a-fA-F:.]{2,45}\]|[A-Za-z0-9.-]{1,253})$/;

/** YYYY-MM-DD in the hub's time zone (the household's): a morning weigh-in belongs to that day. */
export function hubLocalDate(at: number): string {
  const d = new Date(at);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function sendHtml(reply: FastifyReply, body: string, code = 200): FastifyReply {
  // Shells hold no data, but no-store keeps every page (the enrol page shows credentials) out of caches.
  return reply.code(code).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(body);
}

export function registerPages(server: FastifyInstance, deps: PagesDeps): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  registerAssets(app);

  app.get('/login', { schema: PageRoute }, async (_req, reply) => sendHtml(reply, loginPage()));

  const simple: [string, string][] = [
    ['/', 'dashboard'],
    ['/devices', 'devices'],
    ['/members', 'members'],
    ['/consent', 'consent'],
    ['/ledger', 'ledger'],
    ['/export', 'export'],
    ['/settings', 'settings'],
  ];
  for (const [url, name] of simple) app.get(url, { schema: PageRoute }, async (_req, reply) => sendHtml(reply, shellPage(name)));
  // The enrol page names the broker next to the credentials it will show.
  app.get('/enrol', { schema: PageRoute }, async (req, reply) => {
    const { host, port } = deps.mqttEndpoint(req.hostname);
    return sendHtml(reply, shellPage('enrol', { 'mqtt-host': host, 'mqtt-port': String(port) }));
  });

  app.get('/devices/:id', { schema: DevicePageRoute }, async (req, reply) => {
    if (!DEVICE_ID_PATTERN.test(req.params.id)) return reply.code(404).send({ error: 'not found' });
    return sendHtml(reply, shellPage('device', { 'device-id': req.params.id }));
  });

  // A year of the device's activity, drawn from the per-day counts (purged days included).
  app.get('/devices/:id/activity.svg', { schema: DeviceActivityChartRoute }, async (req, reply) => {
    const toDay = Math.floor(Date.now() / DAY_MS);
    const fromAt = (toDay - ACTIVITY_DAYS + 1) * DAY_MS;
    const days = DEVICE_ID_PATTERN.test(req.params.id) ? deps.deviceActivity(req.params.id, fromAt, toDay * DAY_MS) : undefined;
    if (!days) return reply.code(404).send({ error: 'not found' });
    const svg = dailyCountsSvg(days, { title: `Events per day, last ${ACTIVITY_DAYS} days`, fromAt, toAt: toDay * DAY_MS, emptyText: `No events in the last ${ACTIVITY_DAYS} days` });
    return reply.header('cache-control', 'no-store').type('image/svg+xml').send(svg);
  });

  // Cameras and scales share one page; the kind-specific addresses lead there.
  for (const kind of ['cameras', 'scales'] as const) {
    app.get(`/${kind}/:id`, { schema: DeviceRedirectRoute }, async (req, reply) => {
      if (!DEVICE_ID_PATTERN.test(req.params.id) || !req.params.id.startsWith(kind === 'cameras' ? 'cam-' : 'scale-')) return reply.code(404).send({ error: 'not found' });
      return reply.redirect(`/devices/${req.params.id}`, 302);
    });
  }

  app.get('/members/:id/weight.svg', { schema: WeightChartRoute }, async (req, reply) => {
    const history = MEMBER_ID_PATTERN.test(req.params.id) ? deps.weightHistory(req.params.id) : undefined;
    if (!history) return reply.code(404).send({ error: 'not found' });
    const svg = weightChartSvg(history.points, { title: `Weight of ${history.name}`, formatDate: hubLocalDate });
    return reply.header('cache-control', 'no-store').type('image/svg+xml').send(svg);
  });

  // The QR code of credentials just shown by POST /api/devices/camera. They come back once more
  // over the same connection because the hub keeps only the password's hash; nothing is stored.
  app.post('/enrol/qr', { schema: EnrolQrRoute }, async (req, reply) => {
    // Short, without control characters: checked by the route's schema.
    const body = req.body;
    const endpoint = deps.mqttEndpoint(req.hostname);
    const host = endpoint.host;
    if (!HOST_NAME.test(host)) return reply.code(400).send({ error: 'the host name this page was loaded from cannot be put in a QR code' });
    const uri = credentialsUri({ host: host.replace(/^\[|\]$/g, ''), port: endpoint.port, username: body.username, password: body.password });
    return reply.header('cache-control', 'no-store').type('image/svg+xml').send(qrSvg(uri, { title: 'Camera MQTT credentials' }));
  });
}
