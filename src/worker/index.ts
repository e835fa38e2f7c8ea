/**
 * The worker: a process that takes runs from the queue and executes them (`startWorkerProcess`),
 * the run's summary, and the simulator access the CLI's `simulate` and `login` share with it.
 */
export { type WorkerService } from './worker-service.js';
export { startWorkerProcess } from './main.js';
export { type SimulatorStartOptions, startSimulator } from './simulator-package.js';
export { readSimulatorState, type SimulatorState, writeSimulatorState } from './simulator-state.js';
export { simulatedEndpoints } from './simulated-cloud.js';
export type { RunSummary } from './run/index.js';
