import type { Redis } from 'ioredis';

/**
 * Bounded run history in Redis, written by workers and read by `exorun runs|show|output`:
 *
 * - `<prefix>:history:run:<runId>`: the run's entry as JSON, expiring after `ttlSeconds`;
 * - `<prefix>:history:job:<job>` and `<prefix>:history:all`: sorted sets of run ids scored by
 *   first-seen time, trimmed to the newest `perJob` / `overall` entries.
 *
 * BullMQ's own job records are trimmed by count and age too, but they hold payloads and stack
 * traces; this keeps the few facts an operator asks for, for longer and in one place.
 */

export type HistoryStatus = 'queued' | 'waiting' | 'running' | 'retrying' | 'succeeded' | 'failed';

export interface RunHistoryEntry {
  runId: string;
  job: string;
  tenant: string;
  status: HistoryStatus;
  trigger?: 'schedule' | 'manual';
  scheduledFor?: string;
  /** First time a worker took the run (ISO). */
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  attempt?: number;
  pages?: number;
  /** Objects of all steps together; `steps` has them per step. */
  objects?: number;
  /** A multi-step run's objects per step, in step order (mailboxes and their permissions are not one count). */
  steps?: { name: string; objects: number }[];
  warnings?: number;
  /** Output root and files relative to it (data files, then the manifest). */
  outputRoot?: string;
  files?: string[];
  /** Error code of the last failure (final or retried). */
  errorCode?: string;
  error?: string;
}

export interface RunHistoryOptions {
  redis: Redis;
  prefix: string;
  /** Runs kept per job. Default 500. */
  perJob?: number;
  /** Runs kept across all jobs. Default 5,000. */
  overall?: number;
  /** Lifetime of an entry. Default 90 days. */
  ttlSeconds?: number;
}

export interface RunHistory {
  /** Merges `update` into the run's entry (creating it), and indexes it on first sight. */
  record(update: Partial<RunHistoryEntry> & Pick<RunHistoryEntry, 'runId' | 'job' | 'tenant'>): Promise<RunHistoryEntry>;
  get(runId: string): Promise<RunHistoryEntry | undefined>;
  /** Newest first. */
  list(options?: { job?: string; limit?: number }): Promise<RunHistoryEntry[]>;
}

/** A status a later event must not overwrite with an earlier one (events from two processes may cross). */
const FINAL: ReadonlySet<HistoryStatus> = new Set(['succeeded', 'failed']);

export function createRunHistory(options: RunHistoryOptions): RunHistory {
  const { redis, prefix } = options;
  const perJob = options.perJob ?? 500;
  const overall = options.overall ?? 5_000;
  const ttlSeconds = options.ttlSeconds ?? 90 * 86_400;
  const runKey = (runId: string): string => `${prefix}:history:run:${runId}`;
  const jobKey = (job: string): string => `${prefix}:history:job:${job}`;
  const allKey = `${prefix}:history:all`;

  async function get(runId: string): Promise<RunHistoryEntry | undefined> {
    const text = await redis.get(runKey(runId));
    if (text === null) return undefined;
    try {
      return JSON.parse(text) as RunHistoryEntry;
    } catch {
      return undefined;
    }
  }

  async function recordNow(update: Parameters<RunHistory['record']>[0]): Promise<RunHistoryEntry> {
    const existing = await get(update.runId);
    // A late progress event must not turn a finished run back into a running one.
    const keepFinal = existing !== undefined && FINAL.has(existing.status) && update.status !== undefined && !FINAL.has(update.status);
    const merged: RunHistoryEntry = {
      status: 'queued',
      ...existing,
      ...withoutUndefined(update),
      runId: update.runId,
      job: update.job,
      tenant: update.tenant,
      ...(keepFinal ? { status: existing.status } : {}),
      // The first start stays: re-delays and retries start the run again, but it began then.
      ...(existing?.startedAt === undefined ? {} : { startedAt: existing.startedAt }),
    };
    const score = Date.parse(merged.startedAt ?? merged.scheduledFor ?? '') || Date.now();
    await redis
      .multi()
      .set(runKey(update.runId), JSON.stringify(merged), 'EX', ttlSeconds)
      .zadd(jobKey(merged.job), 'NX', score, merged.runId)
      .zadd(allKey, 'NX', score, merged.runId)
      .zremrangebyrank(jobKey(merged.job), 0, -perJob - 1)
      .zremrangebyrank(allKey, 0, -overall - 1)
      .exec();
    return merged;
  }

  // Events of one run arrive close together; each read-merge-write must see the previous one.
  const chains = new Map<string, Promise<unknown>>();
  const serialized = <T>(runId: string, task: () => Promise<T>): Promise<T> => {
    const next = (chains.get(runId) ?? Promise.resolve()).catch(() => undefined).then(task);
    chains.set(runId, next);
    void next
      .finally(() => {
        if (chains.get(runId) === next) chains.delete(runId);
      })
      .catch(() => undefined);
    return next;
  };

  return {
    get,
    record: (update) => serialized(update.runId, () => recordNow(update)),
    async list(listOptions = {}) {
      const limit = Math.max(1, listOptions.limit ?? 50);
      const ids = await redis.zrevrange(listOptions.job === undefined ? allKey : jobKey(listOptions.job), 0, limit - 1);
      if (ids.length === 0) return [];
      const texts = await redis.mget(ids.map(runKey));
      const entries: RunHistoryEntry[] = [];
      for (const text of texts) {
        if (text === null) continue;
        try {
          entries.push(JSON.parse(text) as RunHistoryEntry);
        } catch {
          // An unreadable entry is skipped; the rest of the list is still useful.
        }
      }
      return entries;
    },
  };
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, child]) => child !== undefined)) as Partial<T>;
}
