/**
 * Verbs that only read. Anything else (Set-, New-, Remove-, Add-, Enable-, Start-, …) can change a
 * tenant and runs only when the job says `allowWrite: true`.
 */
export const READ_ONLY_VERBS: readonly string[] = ['Get', 'Search', 'Test', 'Export'];

/**
 * Parameters that make a cmdlet with a reading verb change the tenant: `Search-Mailbox
 * -DeleteContent` deletes what it finds, and `-TargetMailbox` copies it into another mailbox.
 * PowerShell parameter names are case-insensitive, so these are compared without case.
 */
export const WRITING_PARAMETERS: readonly string[] = ['DeleteContent', 'TargetMailbox'];

/**
 * True when the call cannot change the tenant: a reading verb, and none of
 * {@link WRITING_PARAMETERS} (a switch given as `false` is not set).
 */
export function isReadOnlyCmdlet(cmdlet: string, parameters: Readonly<Record<string, unknown>> = {}): boolean {
  const verb = cmdlet.split('-', 1)[0] ?? '';
  if (!READ_ONLY_VERBS.some((readOnly) => readOnly.toLowerCase() === verb.toLowerCase())) return false;
  return writingParametersOf(parameters).length === 0;
}

/** The parameters among `parameters` that make a reading cmdlet write, as written. */
export function writingParametersOf(parameters: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(parameters).filter(
    (name) => parameters[name] !== false && WRITING_PARAMETERS.some((writing) => writing.toLowerCase() === name.toLowerCase()),
  );
}
