import type { CommandHandler } from '../commands.js';
import type { EdgeAgent } from './agent.js';
import { RESTART_EXIT_CODE } from './agent.js';

/**
 * The agent's commands (contract v1 "Commands"). The session has already validated the command, refused
 * it if expired, and de-duplicated a redelivery; this decides what each one does.
 */
export function agentCommandHandler(agent: EdgeAgent): CommandHandler {
  return async (command, ctx) => {
    agent.logger.info({ event: 'command', deviceId: ctx.deviceId, cmdId: command.cmdId, name: command.name }, `command ${command.name}`);
    switch (command.name) {
      case 'ping': {
        const s = agent.buffer.stats();
        return { ok: true, result: { boot: ctx.boot, sampleSec: agent.sampleIntervalSec, pendingSamples: s.pendingSamples, droppedSamples: s.droppedSamples } };
      }
      case 'set_sample_interval':
        await agent.setSampleInterval(command.args.sec);
        return { ok: true, result: { sampleSec: command.args.sec } };
      case 'reboot':
        // The ack goes out first; then a graceful stop and an exit the supervisor restarts (README "Reboot").
        return { ok: true, result: { restarting: true, exitCode: RESTART_EXIT_CODE }, afterAck: () => agent.restart() };
      case 'generator_test': {
        const written = await agent.reader.runAction('generator_test');
        return { ok: true, result: { started: true, ...written } };
      }
      case 'replay':
        return { ok: true, result: await agent.replayRange(command.args.fromTs, command.args.toTs) };
    }
  };
}
