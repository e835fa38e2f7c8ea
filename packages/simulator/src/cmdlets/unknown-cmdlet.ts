import { CmdletError, COMMAND_NOT_FOUND_EXCEPTION } from './cmdlet-error.js';

/** PowerShell's text for a name that is not a command (IPPS returns it in a 403 envelope). */
export function unknownCmdletError(name: string): CmdletError {
  return new CmdletError(
    'Forbidden',
    COMMAND_NOT_FOUND_EXCEPTION,
    `The term '${name}' is not recognized as a name of a cmdlet, function, script file, or executable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again.`,
  );
}
