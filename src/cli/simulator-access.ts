import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ExorunEnv } from '../config/index.js';
import { AppError } from '../core/index.js';
import type { HttpTransport } from '../core/index.js';
import { createHttpTransport } from '../exchange/index.js';
import { readSimulatorState, type SimulatorState } from '../worker/index.js';

/** A running simulator another process started, and a transport that trusts its CA. */
export interface SimulatorAccess {
  state: SimulatorState;
  transport: HttpTransport;
  /** Calls the simulator's control API with its admin key. */
  control(method: 'GET' | 'POST', route: string, body?: unknown): Promise<{ status: number; json: unknown }>;
}

/**
 * Finds the simulator to talk to: EXORUN_SIMULATOR, else the state `exorun simulate` writes
 * (.exorun/simulator.json), else the one an `exorun up` here started in-process
 * (.exorun/embedded-simulator.json). Files of processes that are gone are skipped.
 */
export async function connectToSimulator(env: ExorunEnv): Promise<SimulatorAccess> {
  const candidates = env.EXORUN_SIMULATOR
    ? [env.EXORUN_SIMULATOR]
    : [path.join(env.EXORUN_STATE_DIR, 'simulator.json'), path.join(env.EXORUN_STATE_DIR, 'embedded-simulator.json')];
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    const state = await readSimulatorState(file);
    if (!isAlive(state.pid)) continue;
    const transport = createHttpTransport({ extraCaPem: [state.caCertPem] });
    return {
      state,
      transport,
      async control(method, route, body) {
        const response = await transport.request({
          method,
          url: `${state.urls.login}/_simulator/${route}`,
          headers: { authorization: `Bearer ${state.adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          timeoutMs: 30_000,
        });
        const text = response.body.toString('utf8');
        return { status: response.status, json: text === '' ? undefined : (JSON.parse(text) as unknown) };
      },
    };
  }
  throw new AppError(
    'SIMULATOR_UNAVAILABLE',
    `No running simulator found (looked at ${candidates.join(', ')}). Start one with \`exorun simulate\` (or \`exorun up\`), or set EXORUN_SIMULATOR to its state file.`,
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
