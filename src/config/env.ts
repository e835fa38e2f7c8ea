import { z } from 'zod';
import { AppError } from '../core/index.js';

const positiveInt = z.coerce.number().int().positive();

/**
 * Environment variables exorun reads. Everything has a default so `exorun up` works on a fresh
 * machine; each value is checked at start-up and a bad one is reported by name.
 */
const envSchema = z.object({
  REDIS_URL: z.url({ protocol: /^rediss?$/, message: 'must be a redis:// or rediss:// URL' }).optional(),
  EXORUN_CONFIG: z.string().min(1).default('jobs.yaml'),
  EXORUN_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, { message: 'must use letters, digits, "-" and "_"' })
    .default('exorun'),
  EXORUN_STATE_DIR: z.string().min(1).default('.exorun'),
  EXORUN_WORKER_CONCURRENCY: positiveInt.default(10),
  EXORUN_LEASE_TTL_MS: positiveInt.min(3_000).default(30_000),
  EXORUN_LOCK_DURATION_MS: positiveInt.min(2_000).default(30_000),
  /** Path of the state file written by `exorun simulate`; simulated tenants then use that server. */
  EXORUN_SIMULATOR: z.string().min(1).optional(),
  /** 32-byte key (base64 or hex) that encrypts delegated sessions stored in Redis. */
  EXORUN_SECRET_KEY: z.string().min(1).optional(),
  /** File holding the key, instead of EXORUN_SECRET_KEY. */
  EXORUN_SECRET_KEY_FILE: z.string().min(1).optional(),
  /** Port of the operator endpoint (/metrics, /livez, /readyz); `up` uses 9464 when unset, 0 turns it off. */
  EXORUN_HTTP_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  EXORUN_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  /** Bearer token of the Bull Board dashboard at /dashboard on the operator endpoint; unset: no dashboard. */
  EXORUN_DASHBOARD_TOKEN: z.string().min(16, { message: 'must be at least 16 characters (e.g. `openssl rand -hex 24`)' }).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type ExorunEnv = z.infer<typeof envSchema>;

export function readEnv(env: NodeJS.ProcessEnv = process.env): ExorunEnv {
  const relevant = Object.fromEntries(Object.keys(envSchema.shape).map((key) => [key, env[key] === '' ? undefined : env[key]]));
  const result = envSchema.safeParse(relevant);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `${issue.path.join('.')}=${JSON.stringify(relevant[String(issue.path[0])])}: ${issue.message}`);
  throw new AppError('CFG_ENV_INVALID', `Invalid environment:\n${lines.join('\n')}`, {
    details: { variables: result.error.issues.map((issue) => issue.path.join('.')) },
  });
}
