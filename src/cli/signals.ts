import type { Logger } from '../core/logger.js';

export interface ServiceControl {
  /** Graceful stop: drain, then close. */
  stop(): Promise<void>;
  /** Re-read configuration (SIGHUP). */
  reload?(): Promise<unknown>;
}

/**
 * Keeps the process running until SIGINT/SIGTERM. The first signal drains and stops gracefully;
 * a second one exits at once (the queue recovers whatever was running). SIGHUP reloads.
 * Resolves with the exit code.
 */
export function runUntilSignal(control: ServiceControl, logger: Logger): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const onStop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(130);
      }
      stopping = true;
      logger.info({ signal }, 'stopping: finishing active runs (send the signal again to exit at once)');
      control.stop().then(
        () => {
          logger.info('stopped');
          resolve(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown did not complete cleanly');
          resolve(1);
        },
      );
    };
    process.on('SIGINT', onStop);
    process.on('SIGTERM', onStop);
    process.on('SIGHUP', () => {
      logger.info('SIGHUP: reloading the configuration');
      void control.reload?.();
    });
  });
}
