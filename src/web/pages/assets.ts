/**
 * The web UI's static files: a fixed allow-list served from src/web/assets (read from the package
 * root, so the compiled daemon in dist/ and the tests running src/ serve the same files; tsc does
 * not copy non-TypeScript files). Nothing outside the list is reachable, whatever the URL says.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { PageQuery, REFUSALS } from '../api/schemas.js';

/** This file is <root>/src/web/pages/assets.ts or <root>/dist/web/pages/assets.js. */
export const ASSETS_DIR = fileURLToPath(new URL('../../../src/web/assets/', import.meta.url));

const TYPES = {
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  svg: 'image/svg+xml',
} as const;

/** Every file the UI may load. Adding an asset means adding it here. */
export const ASSET_FILES = [
  'hearth.css',
  'icon.svg',
  'app.js',
  'login.js',
  'dashboard.js',
  'devices.js',
  'device.js',
  'members.js',
  'consent.js',
  'ledger.js',
  'enrol.js',
  'export.js',
  'settings.js',
] as const;

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

function loadAsset(name: string, dir: string): Asset {
  const body = readFileSync(dir + name);
  const ext = name.slice(name.lastIndexOf('.') + 1) as keyof typeof TYPES;
  return { body, type: TYPES[ext], etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

/** Reads every listed file once, at registration: a missing asset fails the start, not a page view. */
export function loadAssets(dir = ASSETS_DIR): Map<string, Asset> {
  return new Map(ASSET_FILES.map((name) => [name, loadAsset(name, dir)]));
}

/** The asset route's schema: the list above is its allow-list, any other name is not found. */
export const AssetRoute = {
  params: Type.Object({ name: Type.Union(ASSET_FILES.map((f) => Type.Literal(f))) }),
  querystring: PageQuery,
  // The file's bytes as they are (a Buffer is never serialised); 304 without a body.
  response: { 200: Type.Unsafe<Buffer>({ type: 'string', description: 'a stylesheet, script or icon' }), 304: Type.Unsafe<void>({ type: 'null', description: 'not modified: no body' }), ...REFUSALS },
};

export function registerAssets(server: FastifyInstance, assets = loadAssets()): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  app.get('/assets/:name', { schema: AssetRoute }, async (req, reply) => {
    const asset = assets.get(req.params.name);
    if (!asset) return reply.code(404).send({ error: 'not found' });
    // Revalidate every time (cheap: 304 by ETag), so an upgraded hub never runs stale scripts.
    reply.header('cache-control', 'no-cache').header('etag', asset.etag).header('x-content-type-options', 'nosniff');
    if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    return reply.type(asset.type).send(asset.body);
  });
}
