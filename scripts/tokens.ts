/**
 * `npm run tokens -- add <role> [--name <text>] | list | revoke <token-id>` on DATA_DIR's token file
 * (`$DATA_DIR/auth/tokens.jsonl`: SHA-256 hashes only). `add` prints the token once. The running API
 * picks changes up on the next request. Every change is audited (`$DATA_DIR/audit/audit.jsonl`).
 */
import { pathToFileURL } from 'node:url';
import { addToken, auditPathFor, FileAuditLog, isRole, readTokens, revokeToken, ROLES, tokensPathFor } from '@tsunagaru/ingest/operators';
import { cliActor, commandHelp, dataDirFromEnv, runCli, UsageError, type Cli, type ParsedCommand } from './cli-support.js';

export const CLI: Cli = {
  name: 'tokens',
  commands: {
    add: { args: '<role>', arity: 1, summary: `create a token (printed once); role: ${ROLES.join(' | ')}`, options: { name: { type: 'string', arg: 'text', help: 'what the token is for (default "<role> token")' } } },
    list: { args: '', arity: 0, summary: 'tokens with id, role, name, created, revoked (never the token)', options: { json: { type: 'boolean', help: 'as JSON (times in epoch ms, like the API)' } } },
    revoke: { args: '<token-id>', arity: 1, summary: 'stop a token working (next request)' },
  },
  footer: 'environment: DATA_DIR (default ./data)',
};

async function main({ command, positionals, values }: ParsedCommand): Promise<void> {
  const [arg] = positionals;
  const dataDir = dataDirFromEnv();
  const path = tokensPathFor(dataDir);
  const audit = new FileAuditLog(auditPathFor(dataDir));
  switch (command) {
    case 'add': {
      if (!isRole(arg)) throw new UsageError(`add needs a role (${ROLES.join(', ')}), got ${JSON.stringify(arg ?? '')}`, commandHelp(CLI, 'add'));
      const name = (values.name as string | undefined) ?? `${arg} token`;
      const { token, record } = await addToken(path, arg, name);
      await audit.record(cliActor('tokens add'), { action: 'token.add', target: record.id, detail: { role: record.role, name: record.name } });
      process.stdout.write(`token id  ${record.id}\nrole      ${record.role}\nname      ${record.name}\ntoken     ${token}\n\nShown once; only its SHA-256 is kept in ${path}.\n`);
      return;
    }
    case 'list': {
      const tokens = await readTokens(path);
      if (values.json) {
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
      const record = await revokeToken(path, arg!);
      await audit.record(cliActor('tokens revoke'), { action: 'token.revoke', target: record.id, detail: { role: record.role } });
      process.stdout.write(`revoked ${record.id} (${record.role}, ${record.name})\n`);
      return;
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) runCli(CLI, main);
