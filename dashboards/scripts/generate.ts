/** `npm run dashboards`: writes the Grafana dashboards and provisioning files to dashboards/generated/. */
import { relative } from 'node:path';
import { GENERATED_DIR, writeGenerated } from '../src/generate.js';

const written = writeGenerated();
for (const path of written) process.stdout.write(`  ${relative(process.cwd(), GENERATED_DIR)}/${path}\n`);
process.stdout.write(`${written.length} files written; commit them (a test fails when they are stale).\n`);
