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
 * @param groups `tenantGroups`: group name → selectors (groups may name groups; cycles are errors)
 */
export function resolveTenantSelection(
  include: readonly string[],
  exclude: readonly string[],
  known: readonly string[],
  groups: Readonly<Record<string, readonly string[]>>,
): TenantSelection {
  const problems: TenantSelectionProblem[] = [];
  const expandList = (list: 'tenants' | 'excludeTenants', selectors: readonly string[]): string[] => {
    const names: string[] = [];
    selectors.forEach((selector, index) => {
      const expanded = expandSelector(selector, known, groups, []);
      if ('message' in expanded) problems.push({ list, index, message: expanded.message });
      else for (const name of expanded.names) if (!names.includes(name)) names.push(name);
    });
    return names;
  };
  const included = expandList('tenants', include);
  const excluded = new Set(expandList('excludeTenants', exclude));
  const tenants = included.filter((name) => !excluded.has(name));
  if (problems.length === 0 && tenants.length === 0) {
    problems.push({ list: 'excludeTenants', index: 0, message: 'leaves no tenant to run for' });
  }
  return { tenants, problems };
}

function expandSelector(
  selector: string,
  known: readonly string[],
  groups: Readonly<Record<string, readonly string[]>>,
  visiting: readonly string[],
): { names: string[] } | { message: string } {
  if (selector === 'all') return { names: [...known] };
  if (selector.startsWith('group:')) {
    const group = selector.slice('group:'.length);
    const members = Object.hasOwn(groups, group) ? groups[group] : undefined;
    if (!members) {
      const defined = Object.keys(groups);
      return { message: `unknown tenant group '${group}' (${defined.length > 0 ? `tenantGroups: ${defined.join(', ')}` : 'no tenantGroups are defined'})` };
    }
    if (visiting.includes(group)) return { message: `tenant group '${group}' includes itself (${[...visiting, group].join(' → ')})` };
    const names: string[] = [];
    for (const member of members) {
      const expanded = expandSelector(member, known, groups, [...visiting, group]);
      if ('message' in expanded) return expanded;
      for (const name of expanded.names) if (!names.includes(name)) names.push(name);
    }
    return { names };
  }
  if (!known.includes(selector)) {
    return { message: `unknown tenant '${selector}'${known.length > 0 ? ` (defined: ${known.join(', ')})` : ' (no tenants are defined)'}` };
  }
  return { names: [selector] };
}
