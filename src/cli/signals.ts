import { closeSync, openSync } from 'node:fs';
import type { Logger } from '../core/index.js';
import { EXIT } from './exit-codes.js';

/** Time a shutdown gets beyond the drain before the process ends anyway. */
export const SHUTDOWN_GRACE_MS = 5_000;

export interface ShutdownOptions {
  /** How long active runs may take to finish after the first signal (the worker's --drain). */
  drainMs: number;
}

/**
 * The shutdown of a service process (`up`, `worker`, `scheduler`), installed before anything
 * starts so that a signal during start-up (waiting for Redis) stops it too:
 *
 * - SIGINT/SIGTERM: close what was started, in reverse order (the worker drains its active runs),
 *   then exit 0 (1 when something failed to close).
 * - A hard deadline of the drain plus {@link SHUTDOWN_GRACE_MS} after that first signal: whatever
 *   is still closing (a Redis that does not answer) is logged by name and the process exits 130.
 * - A second signal exits at once with 130; the queue recovers whatever was running.
 * - SIGHUP reloads the configuration, unless the terminal the process runs in was closed: then it
 *   stops as for SIGTERM.
 *
 * Only the CLI touches `process`; services get closed, and never exit by themselves.
 */
export interface ServiceShutdown {
  /** Aborted at the first signal; start-up waits observe it. */
  readonly signal: AbortSignal;
  /**
   * Registers something that was started; it is closed before everything registered earlier.
   * `force` runs instead when the process must exit before `close` finished (second signal,
   * deadline): it must not wait (e.g. send SIGTERM to a child and return).
   */
  add(name: string, close: () => Promise<void> | void, force?: () => void): void;
  /** What SIGHUP does (re-read jobs.yaml). */
  onReload(reload: () => Promise<unknown>): void;
  /** Resolves with the exit code once a signal stopped everything; the caller then exits. */
  readonly stopped: Promise<number>;
  /** Closes what was started without a signal: start-up failed and the process will exit. */
  closeAfterFailedStart(): Promise<void>;
}

interface Resource {
  name: string;
  close: () => Promise<void> | void;
  force?: () => void;
  state: 'open' | 'closing' | 'closed';
}

export function createServiceShutdown(logger: Logger, options: ShutdownOptions): ServiceShutdown {
  const controller = new AbortController();
  const resources: Resource[] = [];
  let reload: (() => Promise<unknown>) | undefined;
  let resolveStopped: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((resolve) => (resolveStopped = resolve));
  const hadTerminal = process.stdin.isTTY === true || process.stdout.isTTY === true || process.stderr.isTTY === true;
  const deadlineMs = options.drainMs + SHUTDOWN_GRACE_MS;

  const unfinished = (): { closing: string[]; notReached: string[] } => ({
    closing: resources.filter((resource) => resource.state === 'closing').map((resource) => resource.name),
    notReached: resources
      .filter((resource) => resource.state === 'open')
      .reverse()
      .map((resource) => resource.name),
  });

  /** Exits now: runs each unfinished resource's `force`, says what did not close, exits 130. */
  const exitNow = (why: string): void => {
    const { closing, notReached } = unfinished();
    logger.error({ closing, notClosed: notReached }, `${why}: exiting without closing ${[...closing, ...notReached].join(', ') || 'anything more'}`);
    for (const resource of resources) {
      if (resource.state === 'closed' || !resource.force) continue;
      try {
        resource.force();
      } catch {
        // exiting anyway
      }
    }
    process.exit(EXIT.interrupted);
  };

  const closeAll = async (): Promise<number> => {
    let failed = false;
    for (let index = resources.length - 1; index >= 0; index -= 1) {
      const resource = resources[index] as Resource;
      if (resource.state !== 'open') continue;
      resource.state = 'closing';
      try {
        await resource.close();
      } catch (error) {
        failed = true;
        logger.error({ resource: resource.name, reason: error instanceof Error ? error.message : String(error) }, `${resource.name} did not close cleanly`);
      }
      resource.state = 'closed';
    }
    return failed ? EXIT.failed : EXIT.ok;
  };

  const stop = (signal: string): void => {
    if (controller.signal.aborted) {
      exitNow(`second signal (${signal})`);
      return;
    }
    controller.abort(new Error(`stopped by ${signal}`));
    logger.info(
      { signal, deadlineSeconds: deadlineMs / 1000 },
      options.drainMs > 0 ? 'stopping: finishing active runs (send the signal again to exit at once)' : 'stopping (send the signal again to exit at once)',
    );
    const deadline = setTimeout(() => exitNow(`shutdown did not finish within ${deadlineMs / 1000} s`), deadlineMs);
    deadline.unref();
    void closeAll().then((code) => {
      clearTimeout(deadline);
      logger.info('stopped');
      resolveStopped(code);
    });
  };

  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => {
    // A closed terminal sends SIGHUP too; reloading then would leave a process nobody can see.
    if (hadTerminal && terminalIsGone()) {
      stop('SIGHUP (terminal closed)');
      return;
    }
    if (controller.signal.aborted) return;
    logger.info('SIGHUP: reloading the configuration');
    void reload?.().catch((error: unknown) => logger.error({ err: error }, 'reload failed; the previous configuration stays'));
  });

  return {
    signal: controller.signal,
    add(name, close, force) {
      const resource: Resource = { name, close, ...(force ? { force } : {}), state: 'open' };
      resources.push(resource);
      // Started while stopping (a start-up step that was already under way): close it at once.
      if (controller.signal.aborted) {
        resource.state = 'closing';
        void Promise.resolve()
          .then(close)
          .catch(() => undefined)
          .finally(() => (resource.state = 'closed'));
      }
    },
    onReload(handler) {
      reload = handler;
    },
    stopped,
    async closeAfterFailedStart() {
      await closeAll();
    },
  };
}

/** After a hang-up the controlling terminal cannot be opened any more. */
function terminalIsGone(): boolean {
  try {
    closeSync(openSync('/dev/tty', 'r'));
    return false;
  } catch {
    return true;
  }
}

/** A service that is one thing to stop (`exorun simulate`). */
export interface ServiceControl {
  /** Graceful stop. */
  stop(): Promise<void>;
  /** Re-read configuration (SIGHUP). */
  reload?(): Promise<unknown>;
}

/** {@link createServiceShutdown} for a service already started: resolves with the exit code once a signal stopped it. */
export function runUntilSignal(control: ServiceControl, logger: Logger, options: ShutdownOptions = { drainMs: 0 }): Promise<number> {
  const shutdown = createServiceShutdown(logger, options);
  shutdown.add('service', () => control.stop());
  if (control.reload) shutdown.onReload(() => control.reload?.() ?? Promise.resolve());
  return shutdown.stopped;
}
