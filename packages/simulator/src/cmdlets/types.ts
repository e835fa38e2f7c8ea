import type { ServiceName } from '../types.js';
import type { PropertyTypes } from '../data/property-types.js';
import type { TenantDataset } from '../data/tenant-dataset.js';
import type { AuditSessionStore } from './audit-sessions.js';

/** How a parameter value is converted; failures produce the service's binding errors. */
export type ParameterType =
  | 'string'
  | 'string[]'
  | 'switch'
  | 'bool'
  | 'int'
  /** `Unlimited` or a positive integer. */
  | 'resultSize'
  /** A DateTime string (ISO 8601, `M/d/yyyy`); bound as epoch ms. No offset means UTC. */
  | 'datetime'
  /** Anything JSON (hashtables, objects); accepted as is. */
  | 'any'
  | { enum: readonly string[]; typeName: string; multi?: boolean };

/** One row of a cmdlet's parameter table. */
export interface ParameterSpec {
  name: string;
  type: ParameterType;
  mandatory?: boolean;
  /** `[ValidateRange(min, max)]` for 'int' parameters. */
  range?: readonly [number, number];
}

/** Converted parameters keyed by canonical name; common parameters are dropped. */
export type BoundParameters = ReadonlyMap<string, unknown>;

export interface ResultRow {
  /** Where this row sits in the cmdlet's source sequence; cursors resume from such positions. */
  position: number;
  /** The plain object (no annotations). */
  object: Record<string, unknown>;
  types: PropertyTypes;
}

/** A cmdlet's output as a lazily scanned, restartable sequence. */
export interface ResultSource {
  /** Rows at or after source position `from`, in service order. */
  rows(from: number): Iterable<ResultRow>;
  /** Warnings to put in `@adminapi.warnings` on every page. */
  warnings?: readonly string[];
  /** Where the first page starts scanning; default 0. Called only for a first page. */
  startPosition?(): number;
}

/** What a run may know besides its parameters. */
export interface RunContext {
  /** The simulator clock: data that grows with time (audit records) ends here. */
  nowMs: number;
  /** True for the second and later pages of a nextLink chain: do not advance server-side state again. */
  continuation: boolean;
  /** Search-UnifiedAuditLog sessions of the admin API; absent for TenantData, where every call is a fresh session. */
  auditSessions?: AuditSessionStore;
}

export interface CmdletSpec {
  /** Canonical Verb-Noun spelling. */
  name: string;
  service: ServiceName;
  /** Every parameter the real cmdlet has (unimplemented ones are accepted and ignored). */
  parameters: readonly ParameterSpec[];
  /**
   * Validates and runs. Throws CmdletError for validation and not-found failures. Must be cheap:
   * rows are produced only when scanned.
   */
  run(dataset: TenantDataset, parameters: BoundParameters, context: RunContext): ResultSource;
  /** Overrides the list-cmdlet ResultSize rule (1000 by default, with the warning). */
  limit?(parameters: BoundParameters): ResultLimit;
}

/** Rows of a small, fully known list. */
export function listSource(objects: readonly Record<string, unknown>[], types: PropertyTypes, warnings?: readonly string[]): ResultSource {
  return {
    *rows(from) {
      for (let position = Math.max(0, from); position < objects.length; position++) {
        const object = objects[position];
        if (object) yield { position, object, types };
      }
    },
    ...(warnings ? { warnings } : {}),
  };
}

export const EMPTY_SOURCE: ResultSource = { rows: () => [] };

export interface ResultLimit {
  max: number;
  /** True when the cap is the implicit 1000, which earns the "more results" warning. */
  isDefault: boolean;
}
