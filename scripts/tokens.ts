/**
 * `npm run tokens -- add <role> [--name <text>] | list | revoke <token-id>` on DATA_DIR's token file
 * (`$DATA_DIR/auth/tokens.jsonl`: SHA-256 hashes only). `add` prints the token once. The running API
 * picks changes up on the next request. Every change is audited (`$DATA_DIR/audit/audit.jsonl`).
 */
import { addToken, auditPathFor, FileAuditLog, isRole, readTokens, revokeToken, ROLES, tokensPathFor } from '@tsunagaru/ingest';
import { cliActor, dataDirFromEnv, parseArgs, runCli, UsageError } from './cli-support.js';

const USAGE = `usage: npm run tokens -- <command>
  add <role> [--name <text>]   create a token (printed once); role: ${ROLES.join(' | ')}
  list [--json]                tokens with id, role, name, created, revoked (never the token)
  revoke <token-id>            stop a token working (next request)
environment: DATA_DIR (default ./data)`;

async function main(): Promise<void> {
  const { positional, flags } = parseArgs(process.argv.slice(2));
  const [command, arg] = positional;
  const dataDir = dataDirFromEnv();
  const path = tokensPathFor(dataDir);
  const audit = new FileAuditLog(auditPathFor(dataDir));
  switch (command) {
    case 'add': {
      if (!isRole(arg)) throw new UsageError(`add needs a role (${ROLES.join(', ')}), got ${JSON.stringify(arg ?? '')}`);
      const name = flags.get('name')?.at(-1) ?? `${arg} token`;
      const { token, record } = await addToken(path, arg, name);
      await audit.record(cliActor('tokens add'), { action: 'token.add', target: record.id, detail: { role: record.role, name: record.name } });
      process.stdout.write(`token id  ${record.id}\nrole      ${record.role}\nname      ${record.name}\ntoken     ${token}\n\nShown once; only its SHA-256 is kept in ${path}.\n`);
      return;
    }
    case 'list': {
      const tokens = await readTokens(path);
      if (flags.has('json')) {
        process.stdout.write(`${JSON.stringify(tokens.map(({ sha256: _h, ...t }) => t), null, 2)}\n`);
        return;
      }
      if (tokens.length === 0) process.stdout.write(`no tokens in ${path} (TSUNAGARU_ADMIN_TOKEN is the bootstrap admin)\n`);
      // JSON (--json) carries epoch ms like the API; people read ISO 8601.
      const iso = (ms: number) => new Date(ms).toISOString();
      for (const t of tokens) process.stdout.write(`${t.id}  ${t.role.padEnd(14)}  ${iso(t.createdAt)}  ${t.revokedAt !== null ? `revoked ${iso(t.revokedAt)}` : 'active'}  ${t.name}\n`);
      return;
    }
    case 'revoke': {
      if (!arg) throw new UsageError('revoke needs a token id (see `list`)');
      const record = await revokeToken(path, arg);
      await audit.record(cliActor('tokens revoke'), { action: 'token.revoke', target: record.id, detail: { role: record.role } });
      process.stdout.write(`revoked ${record.id} (${record.role}, ${record.name})\n`);
      return;
    }
    default:
      throw new UsageError(command ? `unknown command "${command}"` : 'missing command');
  }
}

runCli('tokens', USAGE, main);
