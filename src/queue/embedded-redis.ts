import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { AppError } from '../core/index.js';

/** A redis-server child process started by exorun (for `exorun up` without REDIS_URL, and tests). */
export interface EmbeddedRedis {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Stops the server (SIGTERM, then SIGKILL after a grace); idempotent. */
  stop(): Promise<void>;
  /**
   * Asks the server to stop (SIGTERM) without waiting: for a process that must exit now and
   * should leave nothing running behind it. Redis still writes its append-only file on SIGTERM.
   */
  stopWithoutWaiting(): void;
}

export interface EmbeddedRedisOptions {
  /** Working directory for persistence files; required when `persistent`. */
  dir?: string;
  /** Append-only persistence, so run history survives a restart of `exorun up`. */
  persistent?: boolean;
  /** Port to listen on; a free port is chosen when absent. */
  port?: number;
  /** Milliseconds to wait for "Ready to accept connections". */
  startTimeoutMs?: number;
  /**
   * Run the server in its own session and process group, so that a signal to this process's
   * group (Ctrl-C in a terminal) does not reach it; its owner must stop it (`exorun up` does).
   */
  detached?: boolean;
}

/** Finds `redis-server` on PATH; undefined when it is not installed. */
export function findRedisServer(searchPath = process.env['PATH'] ?? ''): string | undefined {
  const candidates = searchPath
    .split(path.delimiter)
    .filter(Boolean)
    .map((dir) => path.join(dir, 'redis-server'));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a private redis-server bound to loopback with the settings BullMQ needs in production
 * (`noeviction`), and waits until it accepts connections.
 */
export async function startEmbeddedRedis(options: EmbeddedRedisOptions = {}): Promise<EmbeddedRedis> {
  const binary = findRedisServer();
  if (!binary) {
    throw new AppError(
      'REDIS_NOT_INSTALLED',
      'REDIS_URL is not set and redis-server is not installed. Either set REDIS_URL=redis://host:6379 to use an existing Redis, ' +
        'or install Redis (Debian/Ubuntu: `apt-get install -y redis-server`, macOS: `brew install redis`) so exorun can start a private one.',
    );
  }
  // A port picked by findFreePort can be taken before redis binds it; try a few.
  let lastError: unknown;
  for (let tries = 0; tries < 3; tries += 1) {
    const port = options.port ?? (await findFreePort());
    try {
      return await launch(binary, port, options);
    } catch (error) {
      lastError = error;
      if (options.port !== undefined) break;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

async function launch(binary: string, port: number, options: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--protected-mode',
    'yes',
    '--save',
    '',
    '--maxmemory-policy',
    'noeviction',
    '--daemonize',
    'no',
  ];
  if (options.persistent) {
    if (!options.dir) throw new Error('a persistent embedded Redis needs a directory');
    await mkdir(options.dir, { recursive: true });
    args.push('--appendonly', 'yes', '--dir', options.dir);
  } else {
    args.push('--appendonly', 'no');
    if (options.dir) {
      await mkdir(options.dir, { recursive: true });
      args.push('--dir', options.dir);
    }
  }
  // Detached: Ctrl-C in a terminal signals the whole foreground group, and the server must outlive
  // that signal so that active runs can finish and record their outcome; its owner stops it last.
  // Redis ignores SIGHUP and SIGPIPE, so a closed terminal or an owner that died does not stop
  // it: the next `exorun up` adopts it (see adoptEmbeddedRedis).
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached === true });
  await waitUntilReady(child, options.startTimeoutMs ?? 60_000);
  let stopping: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? -1,
    stop() {
      stopping ??= stopChild(child);
      return stopping;
    },
    stopWithoutWaiting() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}

/**
 * Takes over a redis-server an earlier exorun started and left running (its process ended without
 * stopping it): stopping it then works by its process id.
 */
export function adoptEmbeddedRedis(server: { url: string; pid: number }): EmbeddedRedis {
  let stopping: Promise<void> | undefined;
  return {
    url: server.url,
    port: Number(new URL(server.url).port),
    pid: server.pid,
    stop() {
      stopping ??= stopProcess(server.pid);
      return stopping;
    },
    stopWithoutWaiting() {
      signalProcess(server.pid, 'SIGTERM');
    },
  };
}

/** Whether a process with this id exists (signal 0 checks without sending anything). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

async function stopProcess(pid: number): Promise<void> {
  signalProcess(pid, 'SIGTERM');
  const forceAtMs = Date.now() + 5_000;
  while (isProcessAlive(pid)) {
    if (Date.now() > forceAtMs) signalProcess(pid, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function waitUntilReady(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error(`redis-server did not start within ${timeoutMs} ms:\n${output.slice(-2000)}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        cleanup();
        // Keep draining so a full pipe never blocks the server.
        child.stdout?.resume();
        child.stderr?.resume();
        resolve();
      }
    };
    const onExit = (code: number | null): void => fail(new Error(`redis-server exited with code ${code}:\n${output.slice(-2000)}`));
    function cleanup(): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', fail);
    }
    function fail(error: Error): void {
      cleanup();
      child.kill('SIGKILL');
      reject(error);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', fail);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
