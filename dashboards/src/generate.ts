/** Everything `npm run dashboards` writes, as relative path → file content (deterministic). */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { disasterOpsDashboard } from './dashboards/disaster-ops.js';
import { fieldEngineersDashboard } from './dashboards/field-engineers.js';
import { waterBureauDashboard } from './dashboards/water-bureau.js';
import { gazetteer, loadPlaces } from './gazetteer.js';
import { dashboardProviderYaml, datasourceYaml } from './provisioning.js';

export const GENERATED_DIR = fileURLToPath(new URL('../generated/', import.meta.url));

/** One dashboard per user group, by file name. */
export function allDashboards(): Record<string, Dashboard> {
  return {
    'field-engineers': fieldEngineersDashboard(),
    'water-bureau': waterBureauDashboard(),
    'disaster-ops': disasterOpsDashboard(),
  };
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

export function generatedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const [name, dashboard] of Object.entries(allDashboards())) files.set(`dashboards/${name}.json`, json(dashboard));
  files.set('provisioning/datasources/tsunagaru-influxdb.yaml', datasourceYaml());
  files.set('provisioning/dashboards/tsunagaru.yaml', dashboardProviderYaml());
  files.set('gazetteer/tsunagaru-sites.json', json(gazetteer(loadPlaces())));
  return files;
}

/** Replaces `dir` (default dashboards/generated) with freshly generated files. */
export function writeGenerated(dir = GENERATED_DIR): string[] {
  rmSync(dir, { recursive: true, force: true });
  const written: string[] = [];
  for (const [path, content] of generatedFiles()) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
    written.push(path);
  }
  return written;
}

/** Relative paths of every file under `dir` (for the staleness check). */
export function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(dir, join(prefix, e.name)) : [join(prefix, e.name)])).sort();
}
