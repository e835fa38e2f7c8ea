import { isListCmdlet } from './registry.js';
import type { BoundParameters, CmdletSpec, ResultLimit, ResultRow, ResultSource } from './types.js';

export type { ResultLimit } from './types.js';

export const MORE_RESULTS_WARNING =
  'There are more results available than are currently displayed. To view them, increase the value for the ResultSize parameter.';

/** What PowerShell shows without -ResultSize: the first 1000 objects. */
export const DEFAULT_RESULT_SIZE = 1000;

export function resultLimit(spec: CmdletSpec, parameters: BoundParameters): ResultLimit {
  if (spec.limit) return spec.limit(parameters);
  if (!isListCmdlet(spec)) return { max: Number.POSITIVE_INFINITY, isDefault: false };
  const size = parameters.get('ResultSize');
  if (size === undefined) return { max: DEFAULT_RESULT_SIZE, isDefault: true };
  return { max: size === 'Unlimited' ? Number.POSITIVE_INFINITY : (size as number), isDefault: false };
}

export interface WindowRequest {
  /** Source position to scan from. */
  from: number;
  /** Objects already returned by earlier pages (counts against ResultSize). */
  emitted: number;
  pageSize: number;
  limit: ResultLimit;
}

export interface ResultWindow {
  rows: ResultRow[];
  /** Where the next page starts; absent on the last page. */
  next?: { position: number; emitted: number };
  /** More objects exist beyond the implicit 1000 cap. */
  truncated: boolean;
}

/** One page: up to pageSize rows, then a peek at the following row to decide if there is a next page. */
export function takeWindow(source: ResultSource, request: WindowRequest): ResultWindow {
  const take = Math.max(0, Math.min(request.pageSize, request.limit.max - request.emitted));
  const rows: ResultRow[] = [];
  let following: ResultRow | undefined;
  for (const row of source.rows(request.from)) {
    if (rows.length < take) {
      rows.push(row);
      continue;
    }
    following = row;
    break;
  }
  const emitted = request.emitted + rows.length;
  if (following && emitted < request.limit.max) {
    return { rows, next: { position: following.position, emitted }, truncated: false };
  }
  return { rows, truncated: following !== undefined && request.limit.isDefault };
}
