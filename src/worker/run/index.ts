/**
 * The run, apart from the queue: `executeRun` runs one attempt's steps through ports (exchange
 * client, run slots, output store, window store), which unit tests replace with fakes. The BullMQ
 * adapter (../run-processor.ts) turns a queued job into an attempt and the outcome back into
 * BullMQ's terms.
 */
export { executeRun } from './execute-run.js';
export type { RunAttempt, RunPorts, RunProgress, RunSummary, WindowStore } from './types.js';
