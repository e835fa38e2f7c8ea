import { ORGANIZATION_CONFIG_TYPES } from '../data/organization.js';
import { listSource, type CmdletSpec } from './types.js';

export const getOrganizationConfig: CmdletSpec = {
  name: 'Get-OrganizationConfig',
  service: 'exo',
  parameters: [{ name: 'Identity', type: 'string' }],
  run(dataset) {
    return listSource([dataset.organizationConfig()], ORGANIZATION_CONFIG_TYPES);
  },
};
