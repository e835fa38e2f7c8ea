import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = path.resolve(import.meta.dirname, '../..');

/** A running `exorun` child process with its output kept for assertions and failure reports. */
export interface ExorunProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  output(): string;
  /** Resolves when the output matches, rejects after `timeoutMs` with the output so far. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (or signal name) once the process ended. */
  exited(): Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/**
 * Runs the CLI from source (tsx), as `exorun <args>`, in the project root. `*.localhost` names
 * resolve to loopback in it, as in the tests themselves (test/support/loopback-dns.ts).
 */
export function spawnExorun(args: string[], env: Record<string, string>): ExorunProcess {
  const loopbackDns = pathToFileURL(path.join(root, 'test/support/loopback-dns.ts')).href;
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', loopbackDns, path.join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));

  return {
    child,
    pid: child.pid ?? -1,
    output: () => output,
    exited: () => exit,
    async waitForOutput(pattern, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(output)) {
        if (child.exitCode !== null) throw new Error(`exorun ${args.join(' ')} exited (${child.exitCode}) before ${pattern}:\n${output.slice(-3000)}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} from exorun ${args.join(' ')}:\n${output.slice(-3000)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exit;
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
