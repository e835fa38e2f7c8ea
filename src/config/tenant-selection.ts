/**
 * Which tenants a job runs for: `tenants: [contoso, group:customers, all]` minus `excludeTenants`.
 * Pure; used at load (to report unknown names at their line) and by normalize (to store the
 * resolved list). It lives in config rather than src/jobs because load-time checks need it and
 * config may import only core.
 */

export interface TenantSelectionProblem {
  /** Which list the problem is in and the index of the entry. */
  list: 'tenants' | 'excludeTenants';
  index: number;
  message: string;
}

export interface TenantSelection {
  /** Tenant names in the order they were first named (`all`: the order of `tenants:`). */
  tenants: string[];
  problems: TenantSelectionProblem[];
}

/**
 * @param include selectors of `tenants` (or `[tenant]`)
 * @param exclude selectors of `excludeTenants`
 * @param known tenant names in declaration order
 * @param groups `tenantGroups`: group name → selectors (groups may name groups)
 *
 * Problems are about the job's own selectors only. A mistake inside a group (an unknown member, a
 * cycle) belongs to the group's line and is found by {@link checkTenantGroups}; here such members
 * are left out, so one typo in a group is reported once, not once per job that uses the group.
 */
export function resolveTenantSelection(
  include: readonly string[],
  exclude: readonly string[],
  known: readonly string[],
  groups: Readonly<Record<string, readonly string[]>>,
): TenantSelection {
  const problems: TenantSelectionProblem[] = [];
  const knownSet = new Set(known);
  let skippedGroupMembers = false;
  const expandList = (list: 'tenants' | 'excludeTenants', selectors: readonly string[]): string[] => {
    const names = new Set<string>();
    selectors.forEach((selector, index) => {
      const expanded = expandSelector(selector, known, knownSet, groups, new Set());
      if ('message' in expanded) problems.push({ list, index, message: expanded.message });
      else {
        for (const name of expanded.names) names.add(name);
        skippedGroupMembers ||= expanded.skipped;
      }
    });
    return [...names];
  };
  const included = expandList('tenants', include);
  const excluded = new Set(expandList('excludeTenants', exclude));
  const tenants = included.filter((name) => !excluded.has(name));
  if (problems.length === 0 && tenants.length === 0 && !skippedGroupMembers) {
    problems.push({ list: 'excludeTenants', index: 0, message: 'leaves no tenant to run for' });
  }
  return { tenants, problems };
}

/** A problem with one member of a tenant group, at `tenantGroups.<group>[index]`. */
export interface TenantGroupProblem {
  group: string;
  index: number;
  message: string;
}

/** Every member of every group names a tenant, `all` or a defined group, and no group includes itself. */
export function checkTenantGroups(known: readonly string[], groups: Readonly<Record<string, readonly string[]>>): TenantGroupProblem[] {
  const problems: TenantGroupProblem[] = [];
  const knownSet = new Set(known);
  const defined = Object.keys(groups);
  // Depth-first with three states, so each cycle is reported once, at the member that closes it.
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (group: string, trail: readonly string[]): void => {
    state.set(group, 'visiting');
    (groups[group] ?? []).forEach((member, index) => {
      if (member === 'all') return;
      if (member.startsWith('group:')) {
        const target = member.slice('group:'.length);
        if (!Object.hasOwn(groups, target)) {
          problems.push({ group, index, message: unknownGroupMessage(target, defined) });
        } else if (state.get(target) === 'visiting') {
          problems.push({ group, index, message: `tenant group '${target}' includes itself (${[...trail, group, target].join(' → ')})` });
        } else if (state.get(target) === undefined) {
          visit(target, [...trail, group]);
        }
        return;
      }
      if (!knownSet.has(member)) problems.push({ group, index, message: unknownTenantMessage(member, known) });
    });
    state.set(group, 'done');
  };
  for (const group of defined) if (!state.has(group)) visit(group, []);
  return problems;
}

function expandSelector(
  selector: string,
  known: readonly string[],
  knownSet: ReadonlySet<string>,
  groups: Readonly<Record<string, readonly string[]>>,
  visiting: Set<string>,
): { names: string[]; skipped: boolean } | { message: string } {
  if (selector === 'all') return { names: [...known], skipped: false };
  if (selector.startsWith('group:')) {
    const group = selector.slice('group:'.length);
    const members = Object.hasOwn(groups, group) ? groups[group] : undefined;
    if (!members) return { message: unknownGroupMessage(group, Object.keys(groups)) };
    const names: string[] = [];
    let skipped = false;
    visiting.add(group);
    for (const member of members) {
      const nested = member.startsWith('group:') ? member.slice('group:'.length) : undefined;
      const expanded = nested !== undefined && visiting.has(nested) ? undefined : expandSelector(member, known, knownSet, groups, visiting);
      if (!expanded || 'message' in expanded) skipped = true;
      else {
        names.push(...expanded.names);
        skipped ||= expanded.skipped;
      }
    }
    visiting.delete(group);
    return { names, skipped };
  }
  if (!knownSet.has(selector)) return { message: unknownTenantMessage(selector, known) };
  return { names: [selector], skipped: false };
}

function unknownGroupMessage(group: string, defined: readonly string[]): string {
  return `unknown tenant group '${group}' (${defined.length > 0 ? `tenantGroups: ${listSome(defined)}` : 'no tenantGroups are defined'})`;
}

function unknownTenantMessage(name: string, known: readonly string[]): string {
  return `unknown tenant '${name}'${known.length > 0 ? ` (defined: ${listSome(known)})` : ' (no tenants are defined)'}`;
}

/** Names for a message: all of a short list, the first few of a long one (a file may define hundreds). */
export function listSome(names: readonly string[], shown = 10): string {
  return names.length <= shown ? names.join(', ') : `${names.slice(0, shown).join(', ')} and ${names.length - shown} more`;
}
