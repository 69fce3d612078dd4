/**
 * `npm run agent -- --config <file>`: runs the edge agent until SIGTERM / SIGINT.
 *
 * Exit codes, for the supervisor (systemd, runit, a container runtime):
 *   0   stopped by a signal, cleanly (death published, buffer flushed)
 *   75  a `reboot` command: restart me (EX_TEMPFAIL; systemd `Restart=always` or `RestartForceExitStatus=75`)
 *   78  the config is invalid (EX_CONFIG): do not restart until it is fixed
 *   1   anything else
 */
import { parseArgs } from 'node:util';
import { isEdgeAgentError } from '../errors.js';
import { jsonLogger } from '../json-logger.js';
import { EdgeAgent } from './agent.js';
import { loadAgentConfig } from './config.js';

const USAGE = `Usage: npm run agent -- --config <file.yaml|file.json>

  --config, -c <file>  the agent's config (YAML or JSON; edge-agent/schema/agent-config.schema.json for
                       editors). Checked at start: every problem is listed with its field.
  --help, -h           show this help

Examples: edge-agent/examples/*.yaml.`;

const EX_CONFIG = 78;

async function main(argv: readonly string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], strict: true, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    process.stderr.write(`agent: ${(err as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (values.help || !values.config) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(values.help ? 0 : 2);
  }
  const config = await loadAgentConfig(values.config);
  const logger = jsonLogger(config.logLevel, process.stdout, { deviceId: config.device.id });
  let stopping: Promise<void> | undefined;
  const shutdown = (code: number, graceful = true): void => {
    stopping ??= agent
      .stop({ graceful })
      .catch((err: unknown) => logger.error({ err: (err as Error).message }, 'stop failed'))
      .finally(() => process.exit(code));
  };
  const agent = await EdgeAgent.create(config, { logger, onRestart: (code) => shutdown(code) });
  await agent.start();
  process.on('SIGTERM', () => shutdown(0));
  process.on('SIGINT', () => shutdown(0));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`agent: ${(err as Error).message}\n`);
  process.exit(isEdgeAgentError(err, 'EDGE_ERR_CONFIG') || isEdgeAgentError(err, 'EDGE_ERR_REGISTER_MAP') ? EX_CONFIG : 1);
});
