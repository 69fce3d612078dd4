/**
 * `npm run devices -- import <file>`: bulk provisioning from a CSV or JSON Lines file straight into
 * DATA_DIR's registry (ingest/src/provisioning: the same checks and report as POST /api/v1/devices/import).
 * Safe beside a running ingest: the registry is appended to in batches (one fsync each), and the ingest and
 * broker follow the file. New secrets go to a file of their own (mode 0600), created before the import so
 * that secrets are never issued with nowhere to put them.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { RegistryError } from '@tsunagaru/broker';
import type { DeviceRegistry } from '@tsunagaru/firmware-contracts';
import { deviceFileFormat, importDeviceFile, type AuditActor, type AuditLog, type DeviceFileFormat } from '@tsunagaru/ingest/operators';
import { UsageError } from './cli-support.js';

export interface ImportCommand {
  file: string;
  format?: string | undefined;
  dryRun: boolean;
  /** Where the new secrets go; default `<file>.secrets-<time>.csv` beside the file. */
  secretsPath?: string | undefined;
  /** The command's help, shown with a usage error. */
  usage: string;
}

/** Problems printed to the terminal; the rest are counted. */
const SHOWN_PROBLEMS = 50;

/** Prints the report; throws (exit 1) when the file has problems, after listing them. */
export async function runImport(registry: DeviceRegistry, audit: AuditLog, actor: AuditActor, cmd: ImportCommand, out: (text: string) => void): Promise<void> {
  const started = process.hrtime.bigint();
  const format = (cmd.format ?? deviceFileFormat(cmd.file)) as DeviceFileFormat | undefined;
  if (format !== 'csv' && format !== 'jsonl') throw new UsageError(`import: cannot tell the format of ${cmd.file}; name it .csv, .jsonl or .ndjson, or give --format csv|jsonl`, cmd.usage);
  const text = await readFile(cmd.file, 'utf8');
  const secretsPath = resolve(cmd.secretsPath ?? join(dirname(cmd.file), `${basename(cmd.file)}.secrets-${new Date().toISOString().replace(/[:.]/g, '-')}.csv`));
  // Created now (never over an existing file): after the import would be too late to find out it cannot be.
  const secretsFile = cmd.dryRun ? undefined : await open(secretsPath, 'wx', 0o600);
  let report;
  try {
    report = await importDeviceFile(registry, text, format, { dryRun: cmd.dryRun, welfare: true });
    if (report.secretsCsv) {
      await secretsFile!.writeFile(report.secretsCsv);
      await secretsFile!.sync();
    }
  } finally {
    await secretsFile?.close();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (!report.secretsCsv && secretsFile) await unlink(secretsPath);

  const { rows, created, updated, unchanged, withoutSecret, withSecret } = report;
  if (report.applied) await audit.record(actor, { action: 'device.import', target: 'devices', detail: { format, rows, created, updated, unchanged, withoutSecret, withSecret, file: basename(cmd.file) } });
  for (const p of report.problems.slice(0, SHOWN_PROBLEMS)) out(`line ${p.line}${p.id ? ` (${p.id})` : ''}: ${p.message}`);
  if (report.problemCount > SHOWN_PROBLEMS) out(`… and ${report.problemCount - SHOWN_PROBLEMS} more problems`);
  const counts = `${rows} rows: ${created} new (${withoutSecret} behind a head-end without a secret, ${withSecret} with a new secret), ${updated} changed, ${unchanged} unchanged`;
  if (report.problemCount > 0) throw new RegistryError('REGISTRY_ERR_INVALID', `${report.problemCount} problem(s) in ${cmd.file}; ${cmd.dryRun ? 'a real import would write nothing' : 'nothing was imported'}. Fix them and run again.`);
  if (cmd.dryRun) return out(`dry run, nothing written: ${counts}`);
  out(`imported ${cmd.file} in ${seconds.toFixed(1)} s: ${counts}`);
  if (report.secretsCsv) out(`new secrets: ${secretsPath} (mode 0600; shown nowhere else: hand them to the installers, then delete the file)`);
}
