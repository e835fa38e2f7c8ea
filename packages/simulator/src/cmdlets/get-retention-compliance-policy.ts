import { RETENTION_POLICY_TYPES } from '../data/policies.js';
import { findByIdentity } from './identity.js';
import { listSource, type CmdletSpec } from './types.js';

export const getRetentionCompliancePolicy: CmdletSpec = {
  name: 'Get-RetentionCompliancePolicy',
  service: 'ipps',
  parameters: [
    { name: 'Identity', type: 'string' },
    { name: 'DistributionDetail', type: 'switch' },
    { name: 'ErrorPolicyOnly', type: 'switch' },
    { name: 'ExcludeTeamsPolicy', type: 'switch' },
    { name: 'IncludeTestModeResults', type: 'switch' },
    { name: 'PriorityCleanup', type: 'switch' },
    { name: 'RetentionRuleTypes', type: 'switch' },
    { name: 'TeamsPolicyOnly', type: 'switch' },
  ],
  run(dataset, parameters) {
    let policies = dataset.retentionPolicies();
    const identity = parameters.get('Identity') as string | undefined;
    if (identity !== undefined) policies = [findByIdentity(dataset, policies, identity, ['Name', 'Guid'])];
    const teamsOnly = (policy: Record<string, unknown>): boolean => policy['Workload'] === 'Teams';
    if (parameters.get('TeamsPolicyOnly') === true) policies = policies.filter(teamsOnly);
    if (parameters.get('ExcludeTeamsPolicy') === true) policies = policies.filter((policy) => !teamsOnly(policy));
    // Every seeded policy distributed successfully, so there is nothing in error.
    if (parameters.get('ErrorPolicyOnly') === true) policies = [];
    return listSource(policies, RETENTION_POLICY_TYPES);
  },
};
