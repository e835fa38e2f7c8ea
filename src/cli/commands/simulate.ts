import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../core/index.js';
import { startSimulator, type SimulatorStartOptions } from '../../worker/index.js';
import { writeSimulatorState } from '../../worker/index.js';
import { runUntilSignal } from '../signals.js';
import { createRuntime, type GlobalOptions } from '../runtime.js';

export interface SimulateOptions extends GlobalOptions {
  host: string;
  publicHost?: string;
  port?: string;
  stateFile?: string;
  latencyMs?: string;
  concurrencyCap?: string;
  tokenLifetime?: string;
  autoApprove?: string;
  earlyRetryGraceMs?: string;
}

/**
 * `exorun simulate`: a local Microsoft 365 stand-in (Entra token endpoint, EXO, IPPS) that workers
 * in other processes use through EXORUN_SIMULATOR=<state file>. Its CA is kept in the state folder
 * so restarts do not break the trust workers already have.
 */
export async function simulateCommand(options: SimulateOptions): Promise<number> {
  const runtime = createRuntime(options, 'simulator');
  const stateDir = runtime.env.EXORUN_STATE_DIR;
  const stateFile = options.stateFile ?? path.join(stateDir, 'simulator.json');
  const basePort = options.port === undefined ? undefined : parseInteger(options.port, '--port');
  const simulatorOptions: SimulatorStartOptions = {
    bindHost: options.host,
    ...(options.publicHost === undefined ? {} : { publicHost: options.publicHost }),
    ...(basePort === undefined ? {} : { ports: { login: basePort, exo: basePort + 1, ipps: basePort + 2, ippsRegional: basePort + 3 } }),
    ...(options.latencyMs === undefined ? {} : { latencyMs: parseInteger(options.latencyMs, '--latency-ms') }),
    ...(options.concurrencyCap === undefined ? {} : { concurrencyCap: parseInteger(options.concurrencyCap, '--concurrency-cap') }),
    ...(options.tokenLifetime === undefined ? {} : { tokenLifetimeSec: parseInteger(options.tokenLifetime, '--token-lifetime') }),
    ...(options.autoApprove === undefined ? {} : { deviceCodeAutoApproveMs: parseInteger(options.autoApprove, '--auto-approve') }),
    ...(options.earlyRetryGraceMs === undefined ? {} : { earlyRetryGraceMs: parseInteger(options.earlyRetryGraceMs, '--early-retry-grace-ms') }),
  };
  const caFile = path.join(path.dirname(stateFile), 'simulator-ca.json');
  const ca = await readCa(caFile);
  const simulator = await startSimulator({ ...simulatorOptions, ...(ca ? { ca } : {}) });
  if (!ca) await writeCa(caFile, { certPem: simulator.caCertPem, keyPem: simulator.caKeyPem });
  await writeSimulatorState(stateFile, { pid: process.pid, urls: simulator.urls, caCertPem: simulator.caCertPem, adminKey: simulator.adminKey });

  runtime.logger.info({ ...simulator.urls, stateFile }, 'simulator listening');
  process.stdout.write(
    [
      'exorun simulator running:',
      `  Entra (login)      ${simulator.urls.login}`,
      `  Exchange Online    ${simulator.urls.exo}`,
      `  IPPS (global)      ${simulator.urls.ipps}`,
      `  IPPS (regional)    ${simulator.urls.ippsRegional}`,
      `Workers use it with: EXORUN_SIMULATOR=${path.resolve(stateFile)}`,
      '',
    ].join('\n'),
  );
  return runUntilSignal({ stop: () => simulator.close() }, runtime.logger);
}

function parseInteger(value: string, flag: string): number {
  const parsed = Number.parseInt(value, 10);
  if (!Number.isInteger(parsed) || parsed < 0 || String(parsed) !== value.trim()) {
    throw new AppError('CFG_ENV_INVALID', `${flag} must be a whole number, got '${value}'.`);
  }
  return parsed;
}

async function readCa(file: string): Promise<{ certPem: string; keyPem: string } | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as { certPem: string; keyPem: string };
  } catch {
    return undefined;
  }
}

async function writeCa(file: string, ca: { certPem: string; keyPem: string }): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(ca), { mode: 0o600 });
  await chmod(file, 0o600);
}
