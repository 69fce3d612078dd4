import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { DEVICE_TYPES } from '@tsunagaru/firmware-contracts';
import { canSeeDeviceType, canSeeWelfare, READ_ROLES } from '../roles.js';

const CONSOLE_DIR = fileURLToPath(new URL('../../../console/', import.meta.url));
/**
 * Libraries the console loads, served from this origin like its own files (the CSP allows nothing else):
 * uPlot (MIT, ~50 kB) draws the water charts with axes, bars and a time scale; it styles elements through
 * the CSSOM only, which `style-src 'self'` allows.
 */
const require = createRequire(import.meta.url);
const VENDOR: Record<string, string> = { 'uplot.js': require.resolve('uplot/dist/uPlot.esm.js'), 'uplot.css': require.resolve('uplot/dist/uPlot.min.css') };
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };
/** Everything from this origin, nothing from a CDN: the console must work on an isolated network. */
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

/**
 * The operations console: static files read once at start. The shell is public; every piece of data it
 * shows comes from the API with the user's own bearer token.
 */
export async function consoleRoutes(app: FastifyInstance): Promise<void> {
  const files = new Map<string, Buffer>();
  for (const name of readdirSync(CONSOLE_DIR)) if (TYPES[extname(name)]) files.set(name, readFileSync(`${CONSOLE_DIR}${name}`));
  for (const [name, path] of Object.entries(VENDOR)) files.set(name, readFileSync(path));

  const send = (name: string) => (_req: unknown, reply: import('fastify').FastifyReply) =>
    reply.header('content-type', TYPES[extname(name)]!).header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').header('cache-control', 'no-cache').send(files.get(name));

  app.get('/', { config: { public: true }, schema: { hide: true } }, send('index.html'));

  // Who the console is signed in as, so it shows only the views the role may use (the API enforces it anyway).
  app.get(
    '/api/v1/me',
    {
      config: { roles: READ_ROLES },
      schema: {
        summary: "The caller's token: name, role, whether it may see welfare data, and the device types it works with",
        tags: ['console'],
        response: { 200: { type: 'object', properties: { tokenId: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' }, canSeeWelfare: { type: 'boolean' }, deviceTypes: { type: 'array', items: { type: 'string' } } } } },
      },
    },
    async (request) => {
      const p = request.principal!;
      return { tokenId: p.tokenId, name: p.name, role: p.role, canSeeWelfare: canSeeWelfare(p.role), deviceTypes: DEVICE_TYPES.filter((t) => canSeeDeviceType(p.role, t)) };
    },
  );
  app.get<{ Params: { file: string } }>('/console/:file', { config: { public: true }, schema: { hide: true } }, async (request, reply) => {
    const name = request.params.file;
    if (!files.has(name) || name === 'index.html') return reply.code(404).send({ statusCode: 404, code: 'INGEST_ERR_NOT_FOUND', error: 'Not Found', message: `no console file "${name.slice(0, 64)}"` });
    return send(name)(request, reply);
  });
}
