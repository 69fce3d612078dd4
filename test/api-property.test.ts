/**
 * Issue 19, "No request can crash or leak", as a property: generated and boundary values (fast-check,
 * from the OpenAPI document itself) to every operation with every role, anonymous and a wrong token,
 * against broker + ingest in one child process wired as `npm start` wires them. Holds: no 5xx, the
 * process never exits, its RSS stays bounded, no DuckDB reader or export is left open, and every answer
 * has the shape the document gives for its status.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addToken, ROLES, tokensPathFor } from '@tsunagaru/ingest';
import { apiClient, type ApiClient } from './support/api-client.js';
import { rssMb, startChild, type ChildIngest } from './support/child-process.js';
import { requestsFor } from './support/openapi-arbitraries.js';
import { answerValidator, routesOf, type OpenApiDoc } from './support/openapi.js';
import { freePort } from './support/ports.js';
import { makeTempDir } from './support/temp-dir.js';

const TOKEN = 'property-test-admin-token-0123456789';
const RUNS_PER_ROUTE_AND_CALLER = 25;
/** Fixed, so a failure reproduces; each route and caller gets its own (FC_SEED=… explores others). */
const BASE_SEED = Number(process.env.FC_SEED ?? 1917);
/** The child's RSS may grow by this much at most over the run (it used to grow ~290 MB a request). */
const RSS_GROWTH_LIMIT_MB = 250;

describe('the API under generated and boundary requests (fast-check, from /api/docs/json)', () => {
  const dir = makeTempDir('property');
  let child: ChildIngest;
  let api: ApiClient;
  let doc: OpenApiDoc;
  const callers: Record<string, string | undefined> = { anonymous: undefined, 'wrong-token': 'tsu_wrong-token-0123456789' };
  const known: Record<string, string[]> = { id: ['wm-prop-1', 'wm-prop-welfare', 'bs-prop-1', 'sp-prop-1', 'rn-prop-1'], cmdId: [], dma: ['nakano-3'] };

  beforeAll(async () => {
    child = await startChild('test/support/embedded-ingest-child.ts', {
      DATA_DIR: dir.path,
      MQTT_PORT: String(await freePort()),
      HTTP_PORT: '0',
      TSUNAGARU_ADMIN_TOKEN: TOKEN,
      LOG_LEVEL: 'fatal',
      DUCKDB_MEMORY_LIMIT: '256MB',
      // Generated exports may overlap: two at a time, so 429 is met too.
      API_EXPORTS_MAX: '2',
      API_EXPORTS_PER_TOKEN: '1',
    });
    api = apiClient(child.ready.httpUrl!, TOKEN);
    const types = { wm: 'water-meter', bs: 'bs-power', sp: 'smart-pole', rn: 'ring-node' } as const;
    for (const id of known.id!) {
      const attributes = id.includes('welfare') ? { dma: 'nakano-3', welfareWatch: true } : id.startsWith('wm') ? { dma: 'nakano-3' } : {};
      expect((await api.post('/api/v1/devices', { id, type: types[id.slice(0, 2) as keyof typeof types], attributes })).status).toBe(201);
      known.cmdId!.push((await api.post(`/api/v1/devices/${id}/commands`, { name: 'ping' })).body.cmdId);
    }
    for (const role of ROLES) callers[role] = (await addToken(tokensPathFor(dir.path), role, `${role} property`)).token;
    doc = (await (await fetch(`${child.ready.httpUrl}/api/docs/json`)).json()) as OpenApiDoc;
  });
  afterAll(async () => {
    await child?.stop();
    dir.remove();
  });

  it('answers every route, for every caller, without a 5xx, in its documented shape, and stays up and bounded', { timeout: 300_000 }, async () => {
    const validate = answerValidator(doc);
    const pid = child.child.pid!;
    const rss0 = rssMb(pid);
    let peak = rss0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 200);
    let requests = 0;
    try {
      let seed = BASE_SEED;
      for (const route of routesOf(doc)) {
        for (const [caller, token] of Object.entries(callers)) {
          await fc.assert(
            fc.asyncProperty(requestsFor(route, known), async (req) => {
              const url = new URL(req.path, child.ready.httpUrl);
              for (const [k, v] of req.query) url.searchParams.append(k, v);
              const res = await fetch(url, {
                method: route.method,
                headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}) },
                ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
              });
              requests++;
              const type = res.headers.get('content-type') ?? '';
              const text = type.includes('event-stream') ? (await res.body?.cancel(), '') : await res.text();
              const what = `${caller} ${route.method} ${url.pathname}${url.search}`;
              expect(res.status, `${what}: ${text.slice(0, 300)}`).toBeLessThan(500);
              if (type.includes('json')) expect(validate(route, res.status, type, JSON.parse(text)), what).toBeUndefined();
              else expect(validate(route, res.status, type, undefined), what).toBeUndefined();
              if (res.status === 429) expect(res.headers.get('retry-after'), what).toMatch(/^\d+$/);
            }),
            { numRuns: RUNS_PER_ROUTE_AND_CALLER, seed: seed++, endOnFailure: true },
          );
          expect(child.child.exitCode, child.output()).toBeNull();
        }
      }
    } finally {
      clearInterval(sampler);
    }
    const health = await api.get('/api/v1/health');
    expect(health.status).toBe(200);
    // Every export and every reader it opened is back.
    expect(health.body.api).toMatchObject({ exportsRunning: 0, readers: { exports: 0 } });
    expect(requests).toBeGreaterThanOrEqual(routesOf(doc).length * Object.keys(callers).length * RUNS_PER_ROUTE_AND_CALLER);
    process.stdout.write(`api-property: ${requests} requests, RSS ${rss0.toFixed(0)} MB → peak ${peak.toFixed(0)} MB\n`);
    expect(peak - rss0, `RSS from ${rss0.toFixed(0)} MB to a peak of ${peak.toFixed(0)} MB over ${requests} requests`).toBeLessThan(RSS_GROWTH_LIMIT_MB);
  });
});
