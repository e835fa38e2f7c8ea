import type { AuditLog } from '../data/audit-records.js';
import { AUDIT_EPOCH_MS } from '../data/audit-timeline.js';
import { CmdletError } from './cmdlet-error.js';
import type { BoundParameters } from './types.js';

/** Source positions [from, to) of the records whose instant lies in [start, end) and before now. */
export interface AuditWindow {
  from: number;
  to: number;
}

/**
 * The records a date window selects. Instants strictly increase with the index, so [a, b) and
 * [b, c) select adjacent index ranges: disjoint, and together exactly [a, c).
 */
export function auditWindow(audit: AuditLog, parameters: BoundParameters, nowMs: number): AuditWindow {
  const start = parameters.get('StartDate') as number | undefined;
  const end = parameters.get('EndDate') as number | undefined;
  if (start !== undefined && end !== undefined && end <= start) {
    // Wording UNCONFIRMED: no capture of the service's text for an inverted range was found.
    throw new CmdletError('BadRequest', 'System.ArgumentException', 'The StartDate value must be earlier than the EndDate value.');
  }
  const existing = audit.countAt(nowMs);
  const from = Math.min(audit.timeline.firstAtOrAfter(start ?? AUDIT_EPOCH_MS), existing);
  const to = end === undefined ? existing : Math.min(audit.timeline.firstAtOrAfter(end), existing);
  return { from, to: Math.max(from, to) };
}

export type AuditMatcher = (index: number) => boolean;

/** Matches in [from, to), stopping once `cap` are found. */
export function countMatches(matches: AuditMatcher, from: number, to: number, cap = Number.POSITIVE_INFINITY): number {
  let count = 0;
  for (let index = from; index < to && count < cap; index++) if (matches(index)) count++;
  return count;
}

/** Lower-cased values of a string[] parameter, or undefined when it was not given. */
export function lowerSet(parameters: BoundParameters, name: string): ReadonlySet<string> | undefined {
  const values = parameters.get(name) as string[] | undefined;
  return values === undefined
    ? undefined
    : new Set(
        values.map((value) =>
          value
            .trim()
            .replace(/^\{(.*)\}$/, '$1')
            .toLowerCase(),
        ),
      );
}

/** UserIds/Caller values as actors; names nobody has never match. */
export function actorSet(audit: AuditLog, parameters: BoundParameters, name: string): ReadonlySet<number> | undefined {
  const values = parameters.get(name) as string[] | undefined;
  if (values === undefined) return undefined;
  return new Set(values.map((value) => audit.resolveActor(value)).filter((actor) => actor !== undefined));
}
