import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { AppError } from '../core/index.js';
import { sleep } from '../core/index.js';
import { createSecretBox, type SecretBox } from './secret-box.js';

/** Which delegated session: one signed-in account of one Microsoft tenant. */
export interface SessionKey {
  organization: string;
  account: string;
}

/** What `exorun sessions` shows. Never holds a token. */
export interface SessionInfo {
  tenant: string;
  organization: string;
  account: string;
  cloud: string;
  clientId: string;
  createdAt: string;
  lastRefreshAt?: string;
  refreshCount: number;
}

/**
 * Delegated token caches (msal's serialized cache, which holds the refresh token), encrypted with
 * EXORUN_SECRET_KEY and shared by every worker through Redis, plus a per-account lock so only one
 * process at a time redeems the refresh token and the newest rotated token is never lost.
 */
export interface SessionStore {
  /** The decrypted cache, or undefined when nobody signed in yet. */
  load(key: SessionKey): Promise<string | undefined>;
  /** Encrypts and stores the cache; refuses without a secret key. */
  save(key: SessionKey, cache: string, info: { tenant: string; cloud: string; clientId: string; refreshed: boolean }): Promise<void>;
  /** Runs `action` while holding the account's refresh lock (waits for it, up to `waitMs`). */
  withLock<T>(key: SessionKey, action: () => Promise<T>, waitMs?: number): Promise<T>;
  list(): Promise<SessionInfo[]>;
  remove(key: SessionKey): Promise<boolean>;
}

const RELEASE_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export function createSessionStore(options: { redis: Redis; prefix: string; secretKey: Buffer | undefined; lockTtlMs?: number }): SessionStore {
  const { redis, prefix } = options;
  const box: SecretBox | undefined = options.secretKey ? createSecretBox(options.secretKey) : undefined;
  const lockTtlMs = options.lockTtlMs ?? 30_000;
  const id = (key: SessionKey): string => `${key.organization.toLowerCase()}|${key.account.toLowerCase()}`;
  const cacheKey = (key: SessionKey): string => `${prefix}:auth:session:{${id(key)}}:cache`;
  const lockKey = (key: SessionKey): string => `${prefix}:auth:session:{${id(key)}}:lock`;
  const indexKey = `${prefix}:auth:sessions`;

  const requireBox = (): SecretBox => {
    if (!box) {
      throw new AppError(
        'AUTH_SECRET_KEY',
        'Delegated sessions are stored encrypted and EXORUN_SECRET_KEY (or EXORUN_SECRET_KEY_FILE) is not set; make a key with `openssl rand -base64 32` and give it to every exorun process.',
      );
    }
    return box;
  };

  return {
    async load(key) {
      const sealed = await redis.get(cacheKey(key));
      return sealed === null ? undefined : requireBox().open(sealed, cacheKey(key));
    },

    async save(key, cache, info) {
      const sealed = requireBox().seal(cache, cacheKey(key));
      const previous = await redis.hget(indexKey, id(key));
      const before = previous ? (JSON.parse(previous) as SessionInfo) : undefined;
      const now = new Date().toISOString();
      const entry: SessionInfo = {
        tenant: info.tenant,
        organization: key.organization.toLowerCase(),
        account: key.account.toLowerCase(),
        cloud: info.cloud,
        clientId: info.clientId,
        createdAt: info.refreshed && before ? before.createdAt : now,
        ...(info.refreshed ? { lastRefreshAt: now } : {}),
        refreshCount: info.refreshed ? (before?.refreshCount ?? 0) + 1 : 0,
      };
      await redis.multi().set(cacheKey(key), sealed).hset(indexKey, id(key), JSON.stringify(entry)).exec();
    },

    async withLock(key, action, waitMs = 60_000) {
      const token = randomUUID();
      const deadline = Date.now() + waitMs;
      for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
        if ((await redis.set(lockKey(key), token, 'PX', lockTtlMs, 'NX')) === 'OK') break;
        if (Date.now() > deadline) {
          throw new AppError('AUTH_UNAVAILABLE', `Waited ${waitMs} ms for another process to finish refreshing the session of ${key.account}.`);
        }
        await sleep(delay);
      }
      try {
        return await action();
      } finally {
        await redis.eval(RELEASE_LOCK, 1, lockKey(key), token);
      }
    },

    async list() {
      const entries = await redis.hvals(indexKey);
      return entries.map((entry) => JSON.parse(entry) as SessionInfo).sort((a, b) => a.tenant.localeCompare(b.tenant) || a.account.localeCompare(b.account));
    },

    async remove(key) {
      const [removed] = (await redis.multi().del(cacheKey(key)).hdel(indexKey, id(key)).exec()) ?? [];
      return removed?.[1] === 1;
    },
  };
}
