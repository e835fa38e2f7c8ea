import { createMailboxGenerator, MAILBOX_PROPERTY_TYPES } from '../data/mailboxes.js';
import { notFoundError } from './cmdlet-error.js';
import { matchesFilter, parseFilter, type Filter } from './filter.js';
import { filterableProperties, matchesAnr, RECIPIENT_TYPE_DETAILS } from './recipient-types.js';
import { EMPTY_SOURCE, listSource, type CmdletSpec, type ResultRow } from './types.js';

const MAILBOX_FILTERABLE = filterableProperties(createMailboxGenerator({ organization: 'sample.onmicrosoft.com', salt: 0 }, 1).at(0));

/** Switches that select kinds of mailbox this simulator never has, so the answer is empty. */
const ABSENT_KINDS: readonly string[] = [
  'SoftDeletedMailbox',
  'InactiveMailboxOnly',
  'PublicFolder',
  'GroupMailbox',
  'Arbitration',
  'AuditLog',
  'AuxAuditLog',
  'Migration',
  'Monitoring',
  'RemoteArchive',
];

export const getMailbox: CmdletSpec = {
  name: 'Get-Mailbox',
  service: 'exo',
  parameters: [
    { name: 'Identity', type: 'string' },
    { name: 'Anr', type: 'string' },
    { name: 'Arbitration', type: 'switch' },
    { name: 'Archive', type: 'switch' },
    { name: 'Async', type: 'switch' },
    { name: 'AuditLog', type: 'switch' },
    { name: 'AuxAuditLog', type: 'switch' },
    { name: 'Filter', type: 'string' },
    { name: 'GroupMailbox', type: 'switch' },
    { name: 'InactiveMailboxOnly', type: 'switch' },
    { name: 'IncludeAcceptedDomains', type: 'switch' },
    { name: 'IncludeEmailAddressDisplayNames', type: 'switch' },
    { name: 'IncludeForeignSecurityPrincipals', type: 'switch' },
    { name: 'IncludeInactiveMailbox', type: 'switch' },
    { name: 'MailboxPlan', type: 'string' },
    { name: 'Migration', type: 'switch' },
    { name: 'Monitoring', type: 'switch' },
    { name: 'OrganizationalUnit', type: 'string' },
    { name: 'Properties', type: 'string[]' },
    { name: 'PropertySets', type: 'string[]' },
    { name: 'PublicFolder', type: 'switch' },
    { name: 'RecipientTypeDetails', type: RECIPIENT_TYPE_DETAILS },
    { name: 'RemoteArchive', type: 'switch' },
    { name: 'ResultSize', type: 'resultSize' },
    { name: 'SoftDeletedMailbox', type: 'switch' },
    { name: 'SortBy', type: 'string' },
  ],
  run(dataset, parameters) {
    const types = parameters.get('RecipientTypeDetails') as string[] | undefined;
    const typeSet = types ? new Set(types) : undefined;
    const filterText = parameters.get('Filter') as string | undefined;
    const filter: Filter | undefined = filterText === undefined ? undefined : parseFilter(filterText, MAILBOX_FILTERABLE);
    const anr = parameters.get('Anr') as string | undefined;
    const archiveOnly = parameters.get('Archive') === true;
    const absent = ABSENT_KINDS.some((name) => parameters.get(name) === true);
    const { mailboxes } = dataset;

    const accept = (object: Record<string, unknown>): boolean =>
      (!archiveOnly || object['ArchiveStatus'] === 'Active') && (!filter || matchesFilter(filter, object)) && (anr === undefined || matchesAnr(object, anr));

    const identity = parameters.get('Identity') as string | undefined;
    if (identity !== undefined) {
      const index = absent ? undefined : mailboxes.resolve(identity);
      const object = index === undefined || (typeSet && !typeSet.has(mailboxes.typeAt(index))) ? undefined : mailboxes.at(index);
      if (!object || !accept(object)) throw notFoundError(identity, dataset.domainController);
      return listSource([object], MAILBOX_PROPERTY_TYPES);
    }
    if (absent) return EMPTY_SOURCE;
    return {
      *rows(from): Iterable<ResultRow> {
        for (let index = Math.max(0, from); index < mailboxes.count; index++) {
          if (typeSet && !typeSet.has(mailboxes.typeAt(index))) continue;
          const object = mailboxes.at(index);
          if (accept(object)) yield { position: index, object, types: MAILBOX_PROPERTY_TYPES };
        }
      },
    };
  },
};
