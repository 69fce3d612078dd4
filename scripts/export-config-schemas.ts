/**
 * `npm run config:export`: writes the JSON Schema of each configuration file, for editors (the YAML and
 * JSON language servers complete and check a file that names it, e.g. `# yaml-language-server:
 * $schema=../../ingest/schema/alert-rules.schema.json`): the alert rules file and the edge agent's config.
 * The zod schemas stay the source; a test in each package fails when a committed file is out of date.
 * Unchanged files are not rewritten, so a re-run leaves git clean.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_SCHEMA_FILES } from './config-schema-files.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let changed = 0;
for (const { path, generate } of CONFIG_SCHEMA_FILES) {
  const text = `${JSON.stringify(generate(), null, 2)}\n`;
  const file = join(root, path);
  if (existsSync(file) && readFileSync(file, 'utf8') === text) {
    console.log(`unchanged ${relative(process.cwd(), file)}`);
    continue;
  }
  writeFileSync(file, text);
  changed++;
  console.log(`written   ${relative(process.cwd(), file)} (${Buffer.byteLength(text)} bytes)`);
}
console.log(`${CONFIG_SCHEMA_FILES.length} config schema files, ${changed} changed`);
