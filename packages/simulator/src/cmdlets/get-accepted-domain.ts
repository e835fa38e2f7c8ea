import { ACCEPTED_DOMAIN_TYPES } from '../data/organization.js';
import { findByIdentity } from './identity.js';
import { listSource, type CmdletSpec } from './types.js';

export const getAcceptedDomain: CmdletSpec = {
  name: 'Get-AcceptedDomain',
  service: 'exo',
  parameters: [
    { name: 'Identity', type: 'string' },
    { name: 'ResultSize', type: 'resultSize' },
  ],
  run(dataset, parameters) {
    const domains = dataset.acceptedDomains();
    const identity = parameters.get('Identity') as string | undefined;
    if (identity === undefined) return listSource(domains, ACCEPTED_DOMAIN_TYPES);
    return listSource([findByIdentity(dataset, domains, identity, ['Name', 'DomainName', 'Guid'])], ACCEPTED_DOMAIN_TYPES);
  },
};
