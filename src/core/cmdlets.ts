/**
 * Verbs that only read. Anything else (Set-, New-, Remove-, Add-, Enable-, Start-, …) can change a
 * tenant and runs only when the job says `allowWrite: true`.
 */
export const READ_ONLY_VERBS: readonly string[] = ['Get', 'Search', 'Test', 'Export'];

export function isReadOnlyCmdlet(cmdlet: string): boolean {
  const verb = cmdlet.split('-', 1)[0] ?? '';
  return READ_ONLY_VERBS.some((readOnly) => readOnly.toLowerCase() === verb.toLowerCase());
}
