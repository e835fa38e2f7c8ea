/**
 * Everything that starts can be stopped: resources register a close function as they are created
 * and are closed in reverse order, each within what is left of one overall deadline. One failing
 * close never prevents the others.
 */
export type CloseFn = () => Promise<void> | void;

export interface Lifecycle {
  /** Registers a resource; it will be closed before everything registered earlier. */
  add(name: string, close: CloseFn): void;
  /**
   * Closes everything in reverse order. Idempotent: later calls return the same promise.
   * Rejects with an AggregateError naming the resources that failed or overran the deadline.
   */
  close(deadlineMs?: number): Promise<void>;
  readonly closing: boolean;
}

export function createLifecycle(options: { onError?: (name: string, error: unknown) => void } = {}): Lifecycle {
  const resources: { name: string; close: CloseFn }[] = [];
  let closingPromise: Promise<void> | undefined;

  async function closeAll(deadlineMs: number): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    const failures: Error[] = [];
    for (const resource of resources.reverse()) {
      const remaining = Math.max(0, deadline - Date.now());
      try {
        await withTimeout(Promise.resolve().then(resource.close), remaining, `closing ${resource.name}`);
      } catch (error) {
        options.onError?.(resource.name, error);
        failures.push(error instanceof Error ? error : new Error(String(error)));
      }
    }
    resources.length = 0;
    if (failures.length > 0) throw new AggregateError(failures, `${failures.length} resource(s) failed to close`);
  }

  return {
    add(name, close) {
      if (closingPromise) throw new Error(`cannot register ${name}: shutdown already started`);
      resources.push({ name, close });
    },
    close(deadlineMs = 30_000) {
      closingPromise ??= closeAll(deadlineMs);
      return closingPromise;
    },
    get closing() {
      return closingPromise !== undefined;
    },
  };
}

/** Rejects if `promise` has not settled within `ms`; the timer never keeps the process alive. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
