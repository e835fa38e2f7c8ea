import { AppError } from '../../core/index.js';
import { createRuntime, type GlobalOptions } from '../runtime.js';
import { connectToSimulator } from '../simulator-access.js';
import { printTable } from './sessions.js';

/**
 * `exorun simulate approve [code]`: plays the admin who enters the device code in a browser.
 * Without a code it lists the codes waiting for approval.
 */
export async function simulateApproveCommand(code: string | undefined, options: GlobalOptions & { upn?: string; decline?: boolean }): Promise<number> {
  const runtime = createRuntime(options, 'cli');
  const simulator = await connectToSimulator(runtime.env);
  try {
    if (code === undefined) {
      const listed = await simulator.control('GET', 'device-codes');
      const pending = (listed.json ?? []) as { userCode: string; tenant?: string; clientId?: string; expiresAt?: string }[];
      if (pending.length === 0) process.stdout.write('No device codes are waiting.\n');
      else {
        printTable(
          ['CODE', 'TENANT', 'CLIENT', 'EXPIRES'],
          pending.map((p) => [p.userCode, p.tenant ?? '', p.clientId ?? '', p.expiresAt ?? '']),
        );
      }
      return 0;
    }
    const action = options.decline ? 'decline' : 'approve';
    const answer = await simulator.control('POST', `device-codes/${encodeURIComponent(code)}/${action}`, options.upn ? { upn: options.upn } : {});
    if (answer.status === 404) throw new AppError('SIMULATOR_UNAVAILABLE', `The simulator has no pending device code ${code} (wrong, used or expired).`);
    if (answer.status !== 200) throw new AppError('SIMULATOR_UNAVAILABLE', `The simulator answered HTTP ${answer.status} to ${action} ${code}.`);
    process.stdout.write(`${options.decline ? 'Declined' : 'Approved'} ${code}${options.upn ? ` as ${options.upn}` : ''}.\n`);
    return 0;
  } finally {
    await simulator.transport.close();
  }
}
