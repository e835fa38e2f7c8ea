import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../core/index.js';
import type { SimulatorUrls } from './simulator-package.js';

/**
 * What `exorun simulate` writes so that workers in other processes (or containers) can use the
 * same simulator: where it listens, the CA to trust, and the key of its control API. The file is
 * created readable by its owner only, because the admin key can provision credentials.
 */
export interface SimulatorState {
  stateVersion: 1;
  pid: number;
  urls: SimulatorUrls;
  caCertPem: string;
  adminKey: string;
}

export async function writeSimulatorState(file: string, state: Omit<SimulatorState, 'stateVersion'>): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify({ stateVersion: 1, ...state }, null, 2)}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
}

export async function readSimulatorState(file: string): Promise<SimulatorState> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new AppError('SIMULATOR_UNAVAILABLE', `Cannot read the simulator state file ${file}; start one with \`exorun simulate --state-file ${file}\`.`, {
      cause: error,
    });
  }
  const state = JSON.parse(text) as Partial<SimulatorState>;
  if (state.stateVersion !== 1 || !state.urls || !state.caCertPem || !state.adminKey) {
    throw new AppError('SIMULATOR_UNAVAILABLE', `${file} is not a simulator state file written by this version of exorun.`);
  }
  return state as SimulatorState;
}
