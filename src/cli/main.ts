#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { isAppError } from '../core/index.js';
import { EXIT, EXIT_CODES_HELP, exitCodeFor } from './exit-codes.js';
import { problemsOf, formatProblem } from '../config/index.js';

// Each command's module is imported when that command runs: a worker never loads the scheduler,
// the CLI's history readers or sign-in, and `--help` loads none of them.
const program = new Command();

// Usage errors are thrown (not exited on) so that they get the usage exit code below.
program.exitOverride();

// `exorun output … | head`: the reader has all it wanted; a closed pipe is not a failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(EXIT.ok);
  fail(error);
});

program
  .name('exorun')
  .description('Run Exchange Online and Security & Compliance cmdlets on a schedule, without PowerShell.')
  .version('0.1.0')
  .option('-c, --config <file>', 'jobs file (default: $EXORUN_CONFIG or ./jobs.yaml)')
  .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
  .showHelpAfterError()
  .addHelpText(
    'after',
    `
Environment: REDIS_URL (unset: \`up\` starts a private redis-server), EXORUN_PREFIX, EXORUN_CONFIG,
EXORUN_WORKER_CONCURRENCY, EXORUN_SIMULATOR (state file of \`exorun simulate\`), LOG_LEVEL.
Docs: README.md, docs/jobs-yaml.md, docs/errors.md, docs/operations.md

${EXIT_CODES_HELP}`,
  );

program
  .command('up')
  .description('scheduler and worker in one process (starts a private Redis when REDIS_URL is unset)')
  .option('--run-now', 'run every enabled job once at start-up, then follow the schedules')
  .option('--no-watch', 'do not reload jobs.yaml when it changes (SIGHUP still reloads)')
  .option('--concurrency <n>', 'runs processed at once by the worker')
  .option('--drain <seconds>', 'on shutdown, wait this long for active runs before aborting them', '30')
  .action(async (options: Record<string, unknown>) => exitService(await (await import('./commands/services.js')).upCommand({ ...program.opts(), ...options })));

program
  .command('scheduler')
  .description('keep BullMQ job schedulers in line with jobs.yaml and turn their ticks into runs')
  .option('--no-watch', 'do not reload jobs.yaml when it changes (SIGHUP still reloads)')
  .action(async (options: Record<string, unknown>) =>
    exitService(await (await import('./commands/services.js')).schedulerCommand({ ...program.opts(), ...options })),
  );

program
  .command('worker')
  .description('take runs from the queue and execute them')
  .option('--concurrency <n>', 'runs processed at once (default $EXORUN_WORKER_CONCURRENCY or 10)')
  .option('--drain <seconds>', 'on shutdown, wait this long for active runs before aborting them', '30')
  .option('--no-watch', 'do not reload jobs.yaml when it changes (SIGHUP still reloads)')
  .action(async (options: Record<string, unknown>) =>
    exitService(await (await import('./commands/services.js')).workerCommand({ ...program.opts(), ...options })),
  );

program
  .command('run')
  .description('queue one run of a job now (one per tenant)')
  .argument('<job>', 'job name from jobs.yaml')
  .option('--wait', 'wait for the run to finish; exit 0 when it succeeded, 1 when it failed')
  .option('--timeout <duration>', 'with --wait, give up after this long (exit 3; the run goes on)', '10m')
  .option('--json', 'print the result as JSON')
  .option('--dry-run', 'print the calls the run would make (tenants, cmdlets, parameters, first forEach items) and make none')
  .option('--tenant <name>', 'only this tenant of a job that runs for several')
  .option('--no-progress', 'with --wait, no live progress (a line on a terminal, JSON events on stderr otherwise)')
  .action(async (job: string, options: Record<string, unknown>) =>
    finish(await (await import('./commands/run.js')).runCommand(job, { ...program.opts(), ...options })),
  );

program
  .command('status')
  .description('queued runs, and per tenant and service: slot holders, waiters and throttling cool-down')
  .option('--json', 'print JSON')
  .action(async (options: Record<string, unknown>) => finish(await (await import('./commands/status.js')).statusCommand({ ...program.opts(), ...options })));

program
  .command('runs')
  .description('recent runs from the run history: run, job, tenant, status, started, duration, objects (per step for multi-step jobs)')
  .argument('[job]', 'only runs of this job')
  .option('-n, --limit <n>', 'how many', '20')
  .option('--json', 'print JSON')
  .action(async (job: string | undefined, options: Record<string, unknown>) =>
    finish(await (await import('./commands/history.js')).runsCommand(job, { ...program.opts(), ...options })),
  );

program
  .command('show')
  .description('one run: status, timing, error, and per step its cmdlet, counts, files with sizes and hashes, warnings, request ids')
  .argument('<run>', 'run id (from `exorun runs`)')
  .option('--json', 'print JSON')
  .action(async (run: string, options: Record<string, unknown>) =>
    finish(await (await import('./commands/history.js')).showCommand(run, { ...program.opts(), ...options })),
  );

program
  .command('output')
  .description("write a run's output file to stdout (default: the latest successful run, its first format)")
  .argument('<job>', 'job name from jobs.yaml')
  .argument('[run]', 'run id instead of the latest')
  .option('--latest', 'the newest successful run (the default when no run id is given)')
  .option('--format <format>', 'jsonl, csv, json or clixml')
  .option('--path', 'print the file path instead of the content')
  .action(async (job: string, run: string | undefined, options: Record<string, unknown>) =>
    finish(await (await import('./commands/history.js')).outputCommand(job, run, { ...program.opts(), ...options })),
  );

program
  .command('prune')
  .description("remove old runs' files by each job's retention (keepRuns / keepDays); the scheduler also does this daily")
  .argument('[job]', 'only this job')
  .option('--dry-run', 'list what would be removed, remove nothing')
  .option('--json', 'print JSON')
  .action(async (job: string | undefined, options: Record<string, unknown>) =>
    finish(await (await import('./commands/history.js')).pruneCommand(job, { ...program.opts(), ...options })),
  );

program
  .command('login')
  .description('sign an admin in once (device code, MFA in any browser) and store the session encrypted in Redis')
  .argument('<tenant>', 'tenant name from jobs.yaml (auth type: delegated)')
  .option('--refresh-token-file <file>', 'import an existing refresh token instead of signing in')
  .action(async (tenant: string, options: Record<string, unknown>) =>
    finish(await (await import('./commands/sessions.js')).loginCommand(tenant, { ...program.opts(), ...options })),
  );

program
  .command('logout')
  .description("forget a tenant's stored delegated session")
  .argument('<tenant>', 'tenant name from jobs.yaml')
  .action(async (tenant: string) => finish(await (await import('./commands/sessions.js')).logoutCommand(tenant, program.opts())));

program
  .command('sessions')
  .description('list stored delegated sessions: accounts, clouds, last refresh (never secrets)')
  .option('--json', 'print JSON')
  .action(async (options: Record<string, unknown>) =>
    finish(await (await import('./commands/sessions.js')).sessionsCommand({ ...program.opts(), ...options })),
  );

const simulate = program
  .command('simulate')
  .description('serve a local Microsoft 365 stand-in (Entra, EXO, IPPS) for workers in other processes')
  .option('--host <address>', 'address to listen on', '127.0.0.1')
  .option('--public-host <name>', 'host name clients use (also put in the TLS certificate)')
  .option('--port <n>', 'first of four consecutive ports (login, exo, ipps, ipps regional); default: free ports')
  .option('--state-file <file>', 'where to write URLs, CA and admin key (default .exorun/simulator.json)')
  .option('--latency-ms <ms>', 'added latency per admin API call')
  .option('--concurrency-cap <n>', 'requests in flight per tenant and service before the service refuses')
  .option('--token-lifetime <seconds>', 'access token lifetime')
  .option('--auto-approve <ms>', 'approve device codes by themselves after this many milliseconds')
  .option('--early-retry-grace-ms <ms>', 'calls arriving this soon after a Retry-After window opened are not counted as early (they were already on their way)')
  .action(async (options: Record<string, unknown>) =>
    exitService(await (await import('./commands/simulate.js')).simulateCommand({ ...program.opts(), ...options })),
  );

simulate
  .command('approve')
  .description('approve a device code on the running simulator, as the admin would in a browser (no code: list waiting codes)')
  .argument('[code]', 'the user code `exorun login` printed')
  .option('--upn <upn>', 'sign in as this user (default admin@<organization>)')
  .option('--decline', 'decline instead of approving')
  .action(async (code: string | undefined, options: Record<string, unknown>) =>
    finish(await (await import('./commands/simulate-approve.js')).simulateApproveCommand(code, { ...program.opts(), ...options })),
  );

program
  .command('validate')
  .description('check a jobs file; prints each problem as file:line:col and exits 2 when there are any')
  .argument('[file]', 'jobs file (default: --config, $EXORUN_CONFIG or ./jobs.yaml)')
  .action(async (file: string | undefined) => finish(await (await import('./commands/validate.js')).validateCommand(file, program.opts())));

program
  .command('next')
  .description("show a job's next fire times in its time zone")
  .argument('<job>', 'job name from jobs.yaml')
  .option('-n, --count <n>', 'how many', '5')
  .option('--from <iso>', 'start from this time instead of now')
  .action(async (job: string, options: Record<string, unknown>) =>
    finish(await (await import('./commands/next.js')).nextCommand(job, { ...program.opts(), ...options })),
  );

function finish(code: number): void {
  process.exitCode = code;
}

/**
 * A service returns once a signal stopped it. It exits explicitly: a connection that did not
 * close (Redis unreachable) must not keep the process alive after it said "stopped".
 */
function exitService(code: number): void {
  process.exit(code);
}

/** LOG_LEVEL=debug (or --log-level debug) shows stacks; otherwise an error is one line. */
function debugging(): boolean {
  const level = (program.opts()['logLevel'] as string | undefined) ?? process.env['LOG_LEVEL'];
  return level === 'debug' || level === 'trace';
}

/** Prints what ended the command, never a stack unless debugging, and exits with its code. */
function fail(error: unknown): never {
  if ((error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE') process.exit(EXIT.ok);
  if (error instanceof CommanderError) {
    // Commander printed the problem (and the help) already.
    process.exit(error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? EXIT.ok : EXIT.usage);
  }
  if (isAppError(error)) {
    const problems = problemsOf(error);
    if (problems.length > 0) {
      for (const problem of problems) process.stderr.write(`${formatProblem(problem)}\n`);
    } else {
      process.stderr.write(`exorun: ${error.code}: ${error.message}\n`);
    }
    if (debugging() && error.cause !== undefined) process.stderr.write(`${describeCause(error.cause)}\n`);
  } else {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    process.stderr.write(`exorun: ${message || 'unexpected error'}${debugging() ? '' : ' (LOG_LEVEL=debug shows details)'}\n`);
    if (debugging() && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  }
  process.exit(exitCodeFor(error));
}

function describeCause(cause: unknown): string {
  return `caused by: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}`;
}

// Anything that escapes a command (a stray rejection, an exception in a callback) still ends in
// one line and an exit code, not a stack dump.
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  fail(error);
}
