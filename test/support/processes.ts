import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = path.resolve(import.meta.dirname, '../..');

/**
 * How long a wait for a child process's output may take by default. Generous on purpose: tests
 * run on shared, busy two-core machines where starting a process (tsx compiling the CLI) can take
 * many seconds; a test that passes is told at once (the wait follows the output as it arrives)
 * and never waits this out.
 */
export const PROCESS_WAIT_TIMEOUT_MS = 5 * 60_000;

/** A running `exorun` child process with its output kept for assertions and failure reports. */
export interface ExorunProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** stdout and stderr interleaved as they arrived. */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Resolves as soon as the output matches; rejects when the process exits first, or after `timeoutMs`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (or signal name) once the process ended. */
  exited(): Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
  /**
   * Sends a signal to the child's whole process group, as a terminal does on Ctrl-C; needs
   * `processGroup: true` (the child then leads a group of its own, and the test runner is not in it).
   */
  signalGroup(signal: NodeJS.Signals): void;
}

export interface SpawnExorunOptions {
  /** Start the child as the leader of a new process group (see {@link ExorunProcess.signalGroup}). */
  processGroup?: boolean;
}

/**
 * Runs the CLI from source (tsx), as `exorun <args>`, in the project root. `*.localhost` names
 * resolve to loopback in it, as in the tests themselves (test/support/loopback-dns.ts).
 */
export function spawnExorun(args: string[], env: Record<string, string>, options: SpawnExorunOptions = {}): ExorunProcess {
  const loopbackDns = pathToFileURL(path.join(root, 'test/support/loopback-dns.ts')).href;
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', loopbackDns, path.join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.processGroup === true,
  });
  let output = '';
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  const changed = (): void => {
    for (const listener of [...listeners]) listener();
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    stdout += chunk.toString();
    changed();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    stderr += chunk.toString();
    changed();
  });
  // 'close' (not 'exit'): by then both pipes are drained, so output() is complete.
  const exit = new Promise<number | string>((resolve) =>
    child.once('close', (code, signal) => {
      resolve(code ?? signal ?? 'unknown');
      changed();
    }),
  );
  let ended = false;
  void exit.then(() => (ended = true));

  return {
    child,
    pid: child.pid ?? -1,
    output: () => output,
    stdout: () => stdout,
    stderr: () => stderr,
    exited: () => exit,
    waitForOutput(pattern, timeoutMs = PROCESS_WAIT_TIMEOUT_MS) {
      return new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (pattern.test(output)) finish();
          else if (ended || child.exitCode !== null || child.signalCode !== null) {
            finish(new Error(`exorun ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}) before ${pattern}:\n${output.slice(-3000)}`));
          }
        };
        const timer = setTimeout(
          () => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern} from exorun ${args.join(' ')}:\n${output.slice(-3000)}`)),
          timeoutMs,
        );
        function finish(error?: Error): void {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(error);
          else resolve();
        }
        listeners.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exit;
    },
    signalGroup(signal) {
      if (!options.processGroup) throw new Error('signalGroup needs spawnExorun(…, { processGroup: true })');
      process.kill(-(child.pid ?? 0), signal);
    },
  };
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs: number, what: string, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
