import type { TenantConfig } from '../../config/index.js';
import type { AppError } from '../../core/index.js';
import type { Logger } from '../../core/index.js';
import type { CommittedOutput, ExchangeClient, OutputStore, RunSlots } from '../../core/index.js';
import type { RunPlan } from '../../core/index.js';

/**
 * One attempt of a run, as the step runners see it: what to run and where it stands. Nothing here
 * knows the queue.
 */
export interface RunAttempt {
  plan: RunPlan;
  tenant: TenantConfig;
  /** 1-based, recorded in manifests. */
  attempt: number;
  /** Unique per attempt (letters, digits, `-`): names temporary files. */
  attemptId: string;
  /** Output root of the job. */
  outputRoot: string;
  /**
   * True when `error` ends the run for good (no attempt or re-delay follows): the open output set
   * then gets a failure manifest instead of being abandoned for the next attempt.
   */
  failureIsFinal(error: AppError): boolean;
}

/** Where windowed jobs keep the end of their last successful window. */
export interface WindowStore {
  lastEnd(job: string, tenant: string): Promise<number | undefined>;
  /** Moves the end from `fromMs` to `toMs`; false when another run moved it meanwhile. */
  advance(job: string, tenant: string, fromMs: number | undefined, toMs: number): Promise<boolean>;
}

/** What a run reports while it works (pages and objects so far); best effort, never awaited. */
export interface RunProgress {
  state: 'running';
  step: string;
  pages: number;
  objects: number;
}

/** The effects a run needs, as ports: the step runners are unit-tested with fakes of each. */
export interface RunPorts {
  exchange: ExchangeClient;
  /** The run's slots; the first step's slot is already held when the run starts. */
  slots: RunSlots;
  store: OutputStore;
  /** Required for windowed jobs (a step uses `${window.start}` / `${window.end}`). */
  windows?: WindowStore;
  /** Called at most about once a second, and for every last page. */
  progress?: (report: RunProgress) => void;
  logger: Logger;
  /** Aborts when the worker shuts down: the run stops and goes back to the queue. */
  shutdown?: AbortSignal;
}

/** What a completed run returns to BullMQ (and `exorun run --wait` prints). */
export interface RunSummary {
  runId: string;
  job: string;
  tenant: string;
  status: 'succeeded';
  /** Objects written by all steps. */
  objectCount: number;
  pageCount: number;
  durationMs: number;
  warnings: number;
  /** Output root and the files, relative to it (every step's data files and manifests). */
  outputRoot: string;
  files: string[];
  /** Each step's object count, in step order (step name → objects). */
  steps: { name: string; objects: number }[];
  /** forEach items that failed (within maxItemFailures); absent when the job has no forEach step. */
  itemFailures?: number;
  /** The interval a windowed run read. */
  window?: { start: string; end: string };
}

/** A committed step: a later forEach reads its objects back from the store. */
export type StepResult = CommittedOutput;
