import { PERMISSION_PROPERTY_TYPES, SELF_PRINCIPAL } from '../data/permissions.js';
import { notFoundError } from './cmdlet-error.js';
import { listSource, type CmdletSpec } from './types.js';

export const getMailboxPermission: CmdletSpec = {
  name: 'Get-MailboxPermission',
  service: 'exo',
  parameters: [
    { name: 'Identity', type: 'string', mandatory: true },
    { name: 'GroupMailbox', type: 'switch' },
    { name: 'IncludeSoftDeletedUserPermissions', type: 'switch' },
    { name: 'IncludeUnresolvedPermissions', type: 'switch' },
    { name: 'Owner', type: 'switch' },
    { name: 'ReadFromDomainController', type: 'switch' },
    { name: 'ResultSize', type: 'resultSize' },
    { name: 'SoftDeletedMailbox', type: 'switch' },
    { name: 'User', type: 'string' },
  ],
  run(dataset, parameters) {
    const identity = parameters.get('Identity') as string;
    const softDeleted = parameters.get('SoftDeletedMailbox') === true || parameters.get('GroupMailbox') === true;
    const index = softDeleted ? undefined : dataset.mailboxes.resolve(identity);
    if (index === undefined) throw notFoundError(identity, dataset.domainController);
    let entries = dataset.mailboxPermissions(index);
    const user = parameters.get('User') as string | undefined;
    if (user !== undefined) {
      const principal = userPrincipal(user, dataset.mailboxes.resolve(user), dataset);
      if (principal === undefined) throw notFoundError(user, dataset.domainController);
      entries = entries.filter((entry) => String(entry['User']).toLowerCase() === principal.toLowerCase());
    }
    return listSource(entries, PERMISSION_PROPERTY_TYPES);
  },
};

function userPrincipal(user: string, index: number | undefined, dataset: Parameters<CmdletSpec['run']>[0]): string | undefined {
  if (user.trim().toLowerCase() === SELF_PRINCIPAL.toLowerCase()) return SELF_PRINCIPAL;
  if (index === undefined) return undefined;
  return `${dataset.mailboxes.aliasAt(index)}@${dataset.organization.toLowerCase()}`;
}
