import { BOOLEAN, DOUBLE, INTEGER, TIMESTAMP, timestampValue, VARCHAR, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { toNumber, type DuckDbDatabase, type Params, type Row } from './database.js';
import type { AlertQuery, AlertStore, WebhookDeadLetter } from '../../alerts/store.js';
import type { Alert } from '../../alerts/types.js';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** The alert engine's tables, created idempotently at open (its own DDL, beside the store's schema.ts). */
export const ALERT_DDL: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS alerts (id VARCHAR PRIMARY KEY, device_id VARCHAR NOT NULL, rule VARCHAR NOT NULL, object VARCHAR,
     device_type VARCHAR, grp VARCHAR NOT NULL, severity VARCHAR NOT NULL, state VARCHAR NOT NULL, message VARCHAR NOT NULL,
     value DOUBLE, detail JSON, raised_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL, cleared_at TIMESTAMP,
     acknowledged BOOLEAN NOT NULL, acked_at TIMESTAMP, acked_by VARCHAR, comments JSON, shelved JSON,
     chattering BOOLEAN NOT NULL, transitions INTEGER NOT NULL, flooded BOOLEAN NOT NULL,
     observed_at TIMESTAMP, cause_id VARCHAR, symptoms INTEGER, announced BOOLEAN)`,
  // Stores made before alerts kept the device's observation time and their root cause.
  `ALTER TABLE alerts ADD COLUMN IF NOT EXISTS observed_at TIMESTAMP`,
  `ALTER TABLE alerts ADD COLUMN IF NOT EXISTS cause_id VARCHAR`,
  `ALTER TABLE alerts ADD COLUMN IF NOT EXISTS symptoms INTEGER`,
  `ALTER TABLE alerts ADD COLUMN IF NOT EXISTS announced BOOLEAN`,
  `CREATE TABLE IF NOT EXISTS alert_rule_state (scope VARCHAR PRIMARY KEY, state JSON NOT NULL)`,
  `CREATE SEQUENCE IF NOT EXISTS webhook_dead_letter_ids START 1`,
  `CREATE TABLE IF NOT EXISTS webhook_dead_letters (id BIGINT PRIMARY KEY DEFAULT nextval('webhook_dead_letter_ids'),
     webhook VARCHAR NOT NULL, event JSON NOT NULL, attempts INTEGER NOT NULL, last_error VARCHAR NOT NULL, failed_at TIMESTAMP NOT NULL)`,
];

const COLUMNS = `id, device_id, rule, object, device_type, grp, severity, state, message, value, detail, epoch_ms(raised_at) AS raised_at,
  epoch_ms(updated_at) AS updated_at, epoch_ms(cleared_at) AS cleared_at, acknowledged, epoch_ms(acked_at) AS acked_at, acked_by,
  comments, shelved, chattering, transitions, flooded, epoch_ms(observed_at) AS observed_at, cause_id, symptoms, announced`;

/** loadOpen's columns: the same values as COLUMNS, fewer of them to convert (see loadOpen). */
const KINDS_SEPARATOR = '\x1f';
const asNumber = (c: string) => `epoch_ms(${c})::DOUBLE AS ${c}`;
const OPEN_COLUMNS = `id, device_id, concat_ws(chr(${KINDS_SEPARATOR.charCodeAt(0)}), rule, coalesce(device_type, ''), grp, severity, state) AS kinds, object, message, value,
  nullif(detail::VARCHAR, '{}') AS detail, ${asNumber('raised_at')}, ${asNumber('updated_at')}, ${asNumber('cleared_at')}, acknowledged,
  ${asNumber('acked_at')}, acked_by, nullif(comments::VARCHAR, '[]') AS comments, shelved, chattering, transitions, flooded,
  ${asNumber('observed_at')}, cause_id, symptoms, announced`;

const json = (v: unknown) => (typeof v === 'string' ? (JSON.parse(v) as unknown) : v);

/**
 * One string for each of the few values a column takes (rule, group, severity, state, device type), and one
 * shared empty detail and comment list: the open alerts loaded at start are all kept in memory, and a city's
 * 130,000 silent meters held 130,000 copies of each (~30 MB of heap). Bounded, in case a column is not few.
 */
const FEW = new Map<string, string>();
function few(value: string): string {
  const known = FEW.get(value);
  if (known !== undefined) return known;
  if (FEW.size < 1_000) FEW.set(value, value);
  return value;
}
/** Never changed in place: the lifecycle replaces an alert's detail and comments (lifecycle.ts). */
const NO_DETAIL: Alert['detail'] = Object.freeze({}) as Alert['detail'];
const NO_COMMENTS: Alert['comments'] = Object.freeze([]) as unknown as Alert['comments'];
const isEmpty = (v: unknown) => v === null || v === undefined || v === '{}' || v === '[]' || (typeof v === 'object' && Object.keys(v).length === 0);

/**
 * An alert from its row, `r` giving each column's value. `texts`: the messages seen so far in this read, so
 * alerts saying the same share one string.
 */
function toAlert(r: (column: string) => unknown, texts?: Map<string, string>): Alert {
  const message = String(r('message'));
  const deviceType = r('device_type');
  const announced = r('announced');
  let text = texts?.get(message);
  if (text === undefined) {
    text = message;
    texts?.set(message, text);
  }
  return {
    id: String(r('id')),
    deviceId: String(r('device_id')),
    rule: few(String(r('rule'))),
    object: (r('object') as string | null) ?? null,
    deviceType: deviceType === null || deviceType === undefined ? null : (few(String(deviceType)) as Alert['deviceType']),
    group: few(String(r('grp'))) as Alert['group'],
    severity: few(String(r('severity'))) as Alert['severity'],
    state: few(String(r('state'))) as Alert['state'],
    message: text,
    value: toNumber(r('value')),
    detail: isEmpty(r('detail')) ? NO_DETAIL : (json(r('detail')) as Alert['detail']),
    raisedAt: toNumber(r('raised_at'))!,
    updatedAt: toNumber(r('updated_at'))!,
    clearedAt: toNumber(r('cleared_at')),
    acknowledged: r('acknowledged') === true,
    ackedAt: toNumber(r('acked_at')),
    ackedBy: (r('acked_by') as string | null) ?? null,
    comments: isEmpty(r('comments')) ? NO_COMMENTS : (json(r('comments')) as Alert['comments']),
    shelved: (json(r('shelved')) as Alert['shelved']) ?? null,
    chattering: r('chattering') === true,
    transitions: toNumber(r('transitions')) ?? 1,
    flooded: r('flooded') === true,
    observedAt: toNumber(r('observed_at')),
    causeId: (r('cause_id') as string | null) ?? null,
    symptoms: toNumber(r('symptoms')) ?? 0,
    announced: typeof announced === 'boolean' ? announced : r('flooded') !== true,
  };
}

export class DuckDbAlertStore implements AlertStore {
  private constructor(private readonly db: DuckDbDatabase) {}

  static async open(db: DuckDbDatabase): Promise<DuckDbAlertStore> {
    for (const ddl of ALERT_DDL) await db.run(ddl);
    return new DuckDbAlertStore(db);
  }

  async loadOpen(): Promise<Alert[]> {
    const texts = new Map<string, string>();
    // By column: a city's open alerts (130,000 silent meters) are the largest read of a start. The driver
    // turns each value into JavaScript one by one, so fewer values: the few-valued columns as one text
    // (KINDS), empty details and comments as NULL, times as numbers rather than text. 130,000 alerts
    // took ~2.3 s to read that way, ~1.6 s this way.
    const c = await this.db.columns(`SELECT ${OPEN_COLUMNS} FROM alerts WHERE state = 'active' ORDER BY raised_at`);
    const kinds = new Map<string, Record<string, string | null>>();
    return Array.from({ length: c.id?.length ?? 0 }, (_, i) => {
      const k = String(c.kinds![i]);
      let parts = kinds.get(k);
      if (!parts) {
        const [rule, deviceType, grp, severity, state] = k.split(KINDS_SEPARATOR);
        kinds.set(k, (parts = { rule: rule!, device_type: deviceType === '' ? null : deviceType!, grp: grp!, severity: severity!, state: state! }));
      }
      const kind = parts;
      return toAlert((column) => (column in kind ? kind[column] : c[column]![i]), texts);
    });
  }

  /**
   * One multi-row statement (atomic on its own) for up to SAVE_ROWS alerts, not a transaction of one
   * statement per alert: each statement is a round trip through the event loop, and under a city-wide
   * burst (the loop a few hundred ms behind) a save of 17 alerts took 5–10 s that way (bench city-scale p99).
   */
  async save(given: readonly Alert[]): Promise<void> {
    // One row per id (the last given): a statement may not insert the same key twice.
    const alerts = given.length > 1 ? [...new Map(given.map((a) => [a.id, a])).values()] : given;
    if (alerts.length === 0) return;
    if (alerts.length <= SAVE_ROWS) return this.db.run(saveStatement(alerts.length), alerts.flatMap(alertRow));
    // Many at once (a city's meters falling silent together): appended to a staging table, then one UPDATE
    // and one INSERT. Multi-row INSERT OR REPLACE statements of 200 rows × 26 parameters took ~60 s for
    // 130,000 alerts, longer than the engine's flush interval, so its saves fell behind for good.
    await this.db.transaction(async (tx) => {
      await tx.run(`CREATE TEMP TABLE IF NOT EXISTS ${STAGING} (${STAGING_COLUMNS.map(([name, sql]) => `${name} ${sql}`).join(', ')})`);
      await tx.run(`DELETE FROM ${STAGING}`);
      await tx.append(STAGING, STAGING_COLUMNS.map(([, , type]) => type), await stagingColumns(alerts), { catalog: 'temp' });
      await tx.run(`UPDATE alerts SET ${STAGED_VALUES.filter(([name]) => name !== 'id').map(([name, expr]) => `${name} = ${expr}`).join(', ')} FROM ${STAGING} s WHERE alerts.id = s.id`);
      await tx.run(`INSERT INTO alerts SELECT ${STAGED_VALUES.map(([, expr]) => expr).join(', ')} FROM ${STAGING} s WHERE NOT EXISTS (SELECT 1 FROM alerts a WHERE a.id = s.id)`);
      await tx.run(`DELETE FROM ${STAGING}`);
    });
  }

  async get(id: string): Promise<Alert | undefined> {
    const [row] = await this.db.all(`SELECT ${COLUMNS} FROM alerts WHERE id = $1`, [id]);
    return row ? toAlert((column) => row[column]) : undefined;
  }

  async list(q: AlertQuery): Promise<Alert[]> {
    const rows = await this.db.all(
      `SELECT ${COLUMNS} FROM alerts
       WHERE ($1::VARCHAR = 'all' OR state = $1::VARCHAR) AND ($2::VARCHAR IS NULL OR severity = $2::VARCHAR)
         AND ($3::VARCHAR IS NULL OR rule = $3::VARCHAR) AND ($4::VARCHAR IS NULL OR grp = $4::VARCHAR)
         AND ($5::VARCHAR IS NULL OR device_id = $5::VARCHAR) AND ($6::BIGINT IS NULL OR raised_at < epoch_ms($6::BIGINT))
       ORDER BY raised_at DESC, id LIMIT $7`,
      [q.state, q.severity ?? null, q.rule ?? null, q.group ?? null, q.deviceId ?? null, q.raisedBefore ?? null, q.limit],
    );
    return rows.map((r) => toAlert((column) => r[column]));
  }

  async loadRuleState(): Promise<Map<string, unknown>> {
    const rows = await this.db.all(`SELECT scope, state FROM alert_rule_state`);
    return new Map(rows.map((r) => [String(r.scope), json(r.state)]));
  }

  async saveRuleState(entries: ReadonlyArray<readonly [string, unknown]>): Promise<void> {
    if (entries.length === 0) return;
    // Multi-row statements: one row per statement cost ~ms each, and a head-end bringing 100,000 new meters
    // within one flush interval stalled the engine for minutes (npm run bench:meters).
    const CHUNK = 500;
    // Several transactions of a few thousand rows, not one: alert saves share this connection's queue, and
    // one transaction for 130,000 meters held them for ~4 s (bench city-scale p99). A scope's state is one
    // row, so a crash between transactions leaves every row whole (some from this flush, some older).
    const PER_TRANSACTION = 5_000;
    for (let t = 0; t < entries.length; t += PER_TRANSACTION) {
      const part = entries.slice(t, t + PER_TRANSACTION);
      await this.db.transaction(async (tx) => {
        for (let i = 0; i < part.length; i += CHUNK) {
          const chunk = part.slice(i, i + CHUNK);
          await tx.run(`INSERT OR REPLACE INTO alert_rule_state VALUES ${valuesSql(chunk.length, RULE_STATE_COLUMNS)}`, chunk.flatMap(([scope, state]) => [scope, JSON.stringify(state)]));
        }
      });
    }
  }

  async addWebhookDeadLetter(dl: Omit<WebhookDeadLetter, 'id'>): Promise<void> {
    await this.db.run(`INSERT INTO webhook_dead_letters (webhook, event, attempts, last_error, failed_at) VALUES ($1, $2, $3, $4, epoch_ms($5::BIGINT))`, [
      dl.webhook, JSON.stringify(dl.event), dl.attempts, dl.lastError.slice(0, 1024), dl.failedAt,
    ]);
  }

  async listWebhookDeadLetters(limit: number): Promise<WebhookDeadLetter[]> {
    const rows = await this.db.all(`SELECT id, webhook, event, attempts, last_error, epoch_ms(failed_at) AS failed_at FROM webhook_dead_letters ORDER BY id DESC LIMIT $1`, [limit]);
    return rows.map((r) => ({ id: toNumber(r.id)!, webhook: String(r.webhook), event: json(r.event) as WebhookDeadLetter['event'], attempts: toNumber(r.attempts)!, lastError: String(r.last_error), failedAt: toNumber(r.failed_at)! }));
  }
}

/** Alerts per INSERT statement (26 parameters each). */
const SAVE_ROWS = 200;
/** Columns in table order: a value as given, or epoch ms turned into a TIMESTAMP. */
type Column = 'value' | 'ms';
const ALERT_COLUMNS: readonly Column[] = ['value', 'value', 'value', 'value', 'value', 'value', 'value', 'value', 'value', 'value', 'value', 'ms', 'ms', 'ms', 'value', 'ms', 'value', 'value', 'value', 'value', 'value', 'value', 'ms', 'value', 'value', 'value'];
const RULE_STATE_COLUMNS: readonly Column[] = ['value', 'value'];

/** `($1, $2), ($3, $4), …`: the VALUES of a multi-row statement, parameters numbered row after row. */
function valuesSql(rows: number, columns: readonly Column[]): string {
  const n = columns.length;
  const row = (r: number) => `(${columns.map((kind, c) => (kind === 'ms' ? `epoch_ms($${r * n + c + 1}::BIGINT)` : `$${r * n + c + 1}`)).join(', ')})`;
  return Array.from({ length: rows }, (_, r) => row(r)).join(', ');
}

function saveStatement(rows: number): string {
  return `INSERT OR REPLACE INTO alerts VALUES ${valuesSql(rows, ALERT_COLUMNS)}`;
}

/** The staging table of large saves: the alerts table's columns in its order, JSON as text. */
const STAGING = 'alert_save';
const STAGING_COLUMNS: ReadonlyArray<readonly [string, string, DuckDBType]> = [
  ['id', 'VARCHAR', VARCHAR], ['device_id', 'VARCHAR', VARCHAR], ['rule', 'VARCHAR', VARCHAR], ['object', 'VARCHAR', VARCHAR],
  ['device_type', 'VARCHAR', VARCHAR], ['grp', 'VARCHAR', VARCHAR], ['severity', 'VARCHAR', VARCHAR], ['state', 'VARCHAR', VARCHAR],
  ['message', 'VARCHAR', VARCHAR], ['value', 'DOUBLE', DOUBLE], ['detail', 'VARCHAR', VARCHAR], ['raised_at', 'TIMESTAMP', TIMESTAMP],
  ['updated_at', 'TIMESTAMP', TIMESTAMP], ['cleared_at', 'TIMESTAMP', TIMESTAMP], ['acknowledged', 'BOOLEAN', BOOLEAN],
  ['acked_at', 'TIMESTAMP', TIMESTAMP], ['acked_by', 'VARCHAR', VARCHAR], ['comments', 'VARCHAR', VARCHAR], ['shelved', 'VARCHAR', VARCHAR],
  ['chattering', 'BOOLEAN', BOOLEAN], ['transitions', 'INTEGER', INTEGER], ['flooded', 'BOOLEAN', BOOLEAN], ['observed_at', 'TIMESTAMP', TIMESTAMP],
  ['cause_id', 'VARCHAR', VARCHAR], ['symptoms', 'INTEGER', INTEGER], ['announced', 'BOOLEAN', BOOLEAN],
];
const JSON_COLUMNS = new Set(['detail', 'comments', 'shelved']);
/** Each column of the alerts table as taken from the staging row `s`. */
const STAGED_VALUES = STAGING_COLUMNS.map(([name]) => [name, JSON_COLUMNS.has(name) ? `s.${name}::JSON` : `s.${name}`] as const);

/**
 * alertRow's values column by column, as the appender takes them (epoch ms as TIMESTAMP values), the event
 * loop free every few thousand alerts (130,000 in one piece took ~0.7 s).
 */
async function stagingColumns(alerts: readonly Alert[]): Promise<DuckDBValue[][]> {
  const columns: DuckDBValue[][] = STAGING_COLUMNS.map(() => []);
  for (const [k, a] of alerts.entries()) {
    if (k > 0 && k % 5_000 === 0) await nextTurn();
    alertRow(a).forEach((v, i) => {
      const type = STAGING_COLUMNS[i]![1];
      columns[i]!.push(v === null || v === undefined ? null : type === 'TIMESTAMP' ? timestampValue(BigInt(v as number) * 1000n) : (v as DuckDBValue));
    });
  }
  return columns;
}

function alertRow(a: Alert): Params {
  return [
    a.id, a.deviceId, a.rule, a.object, a.deviceType, a.group, a.severity, a.state, a.message, a.value, JSON.stringify(a.detail),
    a.raisedAt, a.updatedAt, a.clearedAt, a.acknowledged, a.ackedAt, a.ackedBy, JSON.stringify(a.comments),
    a.shelved ? JSON.stringify(a.shelved) : null, a.chattering, a.transitions, a.flooded, a.observedAt, a.causeId, a.symptoms, a.announced,
  ];
}
