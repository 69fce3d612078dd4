/**
 * Writes the JSON Schema files of contract v1 into firmware-contracts/schema/ (`npm run contracts:export`)
 * and refreshes the generated tables (bounds, event types) in firmware-contracts/README.md.
 * Unchanged files are not rewritten and stale ones are removed, so a re-run leaves git clean.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateJsonSchemas, renderSchemaFile } from '../src/json-schema.js';
import { refreshReadme } from '../src/readme-tables.js';

const schemaDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'schema');
const shown = (file: string) => relative(process.cwd(), join(schemaDir, file));

mkdirSync(schemaDir, { recursive: true });
const schemas = generateJsonSchemas();
let changed = 0;
for (const [file, schema] of Object.entries(schemas)) {
  const text = renderSchemaFile(schema);
  const path = join(schemaDir, file);
  const before = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  if (before === text) {
    console.log(`unchanged ${shown(file)}`);
    continue;
  }
  writeFileSync(path, text);
  changed++;
  console.log(`${before === undefined ? 'created  ' : 'updated  '} ${shown(file)} (${Buffer.byteLength(text)} bytes)`);
}
for (const file of readdirSync(schemaDir)) {
  if (file.endsWith('.json') && !(file in schemas)) {
    rmSync(join(schemaDir, file));
    changed++;
    console.log(`removed   ${shown(file)} (no longer generated)`);
  }
}

const readmePath = join(schemaDir, '..', 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const refreshed = refreshReadme(readme);
if (refreshed !== readme) {
  writeFileSync(readmePath, refreshed);
  changed++;
  console.log(`updated   ${relative(process.cwd(), readmePath)} (generated tables)`);
} else {
  console.log(`unchanged ${relative(process.cwd(), readmePath)} (generated tables)`);
}
console.log(`${Object.keys(schemas).length} schema files + README tables, ${changed} changed`);
