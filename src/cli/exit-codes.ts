import { isAppError } from '../core/index.js';

/**
 * The exit codes of every `exorun` command, one table for scripts, CI and process supervisors
 * (documented in `exorun --help`, README and docs/operations.md).
 */
export const EXIT = {
  /** Done; a waited-for run succeeded. */
  ok: 0,
  /** A run failed, or the command failed (the reason is printed as `exorun: CODE: message`). */
  failed: 1,
  /** Usage or configuration problem: unknown option, missing argument, bad value, jobs.yaml problems. */
  usage: 2,
  /** `run --wait` gave up after --timeout; the run itself goes on. */
  timedOut: 3,
  /** Redis could not be reached (or, for `up`, no redis-server is installed to start one). */
  redisUnavailable: 4,
  /** Interrupted: Ctrl-C while waiting, a second signal, or a shutdown that passed its deadline. */
  interrupted: 130,
} as const;

/** The table as `exorun --help` prints it. */
export const EXIT_CODES_HELP = `Exit codes:
  0    done (a waited-for run succeeded; a service stopped cleanly)
  1    a run failed, or the command failed (printed as "exorun: CODE: message")
  2    usage or configuration problem (unknown option, bad value, jobs.yaml problems)
  3    run --wait gave up after --timeout (the run goes on)
  4    Redis unavailable (or no redis-server installed for \`up\`)
  130  interrupted (Ctrl-C while waiting, a second signal, shutdown past its deadline)`;

/** The exit code for an error that ended a command. */
export function exitCodeFor(error: unknown): number {
  if (!isAppError(error)) return EXIT.failed;
  if (error.code.startsWith('CFG_')) return EXIT.usage;
  if (error.code === 'REDIS_UNAVAILABLE' || error.code === 'REDIS_NOT_INSTALLED') return EXIT.redisUnavailable;
  if (error.code === 'RUN_WAIT_TIMEOUT') return EXIT.timedOut;
  return EXIT.failed;
}
