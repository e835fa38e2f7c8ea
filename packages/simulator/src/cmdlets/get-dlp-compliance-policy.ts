import { DLP_POLICY_TYPES } from '../data/policies.js';
import { findByIdentity } from './identity.js';
import { listSource, type CmdletSpec } from './types.js';

export const getDlpCompliancePolicy: CmdletSpec = {
  name: 'Get-DlpCompliancePolicy',
  service: 'ipps',
  parameters: [
    { name: 'Identity', type: 'string' },
    { name: 'DisplayName', type: 'string' },
    { name: 'DistributionDetail', type: 'switch' },
    { name: 'ForceValidate', type: 'bool' },
    { name: 'IncludeExtendedProperties', type: 'bool' },
    { name: 'IncludeRulesMetadata', type: 'bool' },
    { name: 'Summary', type: 'switch' },
  ],
  run(dataset, parameters) {
    let policies = dataset.dlpPolicies();
    const identity = parameters.get('Identity') as string | undefined;
    if (identity !== undefined) policies = [findByIdentity(dataset, policies, identity, ['Name', 'Guid'])];
    const displayName = parameters.get('DisplayName') as string | undefined;
    if (displayName !== undefined) policies = policies.filter((policy) => String(policy['Name']).toLowerCase() === displayName.toLowerCase());
    return listSource(policies, DLP_POLICY_TYPES);
  },
};
