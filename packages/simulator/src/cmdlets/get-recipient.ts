import { RECIPIENT_PROPERTIES, RECIPIENT_PROPERTY_TYPES, type RecipientKind } from '../data/recipients.js';
import { notFoundError } from './cmdlet-error.js';
import { matchesFilter, parseFilter, type Filter } from './filter.js';
import { filterableProperties, matchesAnr, RECIPIENT_TYPE, RECIPIENT_TYPE_DETAILS } from './recipient-types.js';
import { listSource, type CmdletSpec, type ResultRow } from './types.js';

const FILTERABLE = filterableProperties(Object.fromEntries(RECIPIENT_PROPERTIES.map((key) => [key, null])));

/** The RecipientType / RecipientTypeDetails values each kind of seeded recipient can have. */
const KIND_TYPES: Record<RecipientKind, { type: string; details: readonly string[] }> = {
  mailbox: { type: 'UserMailbox', details: ['UserMailbox', 'SharedMailbox', 'RoomMailbox', 'EquipmentMailbox'] },
  group: { type: 'MailUniversalDistributionGroup', details: ['MailUniversalDistributionGroup'] },
  contact: { type: 'MailContact', details: ['MailContact'] },
};
const KINDS: readonly RecipientKind[] = ['mailbox', 'group', 'contact'];

export const getRecipient: CmdletSpec = {
  name: 'Get-Recipient',
  service: 'exo',
  parameters: [
    { name: 'Identity', type: 'string' },
    { name: 'Anr', type: 'string' },
    { name: 'AuthenticationType', type: 'string' },
    { name: 'BookmarkDisplayName', type: 'string' },
    { name: 'Capabilities', type: 'string[]' },
    { name: 'Filter', type: 'string' },
    { name: 'IncludeBookmarkObject', type: 'bool' },
    { name: 'IncludeSoftDeletedRecipients', type: 'switch' },
    { name: 'OrganizationalUnit', type: 'string' },
    { name: 'Properties', type: 'string[]' },
    { name: 'PropertySet', type: 'string' },
    { name: 'RecipientPreviewFilter', type: 'string' },
    { name: 'RecipientType', type: RECIPIENT_TYPE },
    { name: 'RecipientTypeDetails', type: RECIPIENT_TYPE_DETAILS },
    { name: 'ResultSize', type: 'resultSize' },
    { name: 'SortBy', type: 'string' },
  ],
  run(dataset, parameters) {
    const recipientTypes = setOf(parameters.get('RecipientType'));
    const details = setOf(parameters.get('RecipientTypeDetails'));
    const filterText = parameters.get('Filter') as string | undefined;
    const filter: Filter | undefined = filterText === undefined ? undefined : parseFilter(filterText, FILTERABLE);
    const anr = parameters.get('Anr') as string | undefined;
    const { recipients } = dataset;

    const typeAllowed = (type: string, typeDetails: string): boolean => (!recipientTypes || recipientTypes.has(type)) && (!details || details.has(typeDetails));
    const kindAllowed = (kind: RecipientKind): boolean => KIND_TYPES[kind].details.some((typeDetails) => typeAllowed(KIND_TYPES[kind].type, typeDetails));
    const accept = (object: Record<string, unknown>): boolean => (!filter || matchesFilter(filter, object)) && (anr === undefined || matchesAnr(object, anr));

    const identity = parameters.get('Identity') as string | undefined;
    if (identity !== undefined) {
      const position = recipients.resolve(identity);
      const object = position === undefined ? undefined : recipients.at(position);
      if (!object || !typeAllowed(String(object['RecipientType']), String(object['RecipientTypeDetails'])) || !accept(object)) {
        throw notFoundError(identity, dataset.domainController);
      }
      return listSource([object], RECIPIENT_PROPERTY_TYPES);
    }
    return {
      *rows(from): Iterable<ResultRow> {
        let position = Math.max(0, from);
        while (position < recipients.total) {
          const kind = recipients.kindAt(position);
          if (!kindAllowed(kind)) {
            // Jump over the whole range of a kind the type parameters exclude.
            const next = KINDS[KINDS.indexOf(kind) + 1];
            position = next ? recipients.startOf(next) : recipients.total;
            continue;
          }
          if (typeAllowed(KIND_TYPES[kind].type, recipients.typeAt(position))) {
            const object = recipients.at(position);
            if (accept(object)) yield { position, object, types: RECIPIENT_PROPERTY_TYPES };
          }
          position++;
        }
      },
    };
  },
};

function setOf(value: unknown): ReadonlySet<string> | undefined {
  return Array.isArray(value) ? new Set(value as string[]) : undefined;
}
