import type { ParameterType } from './types.js';

/** Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails, as named in conversion errors. */
export const RECIPIENT_TYPE_DETAILS: ParameterType = {
  typeName: 'Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails',
  multi: true,
  enum: [
    'None',
    'UserMailbox',
    'LinkedMailbox',
    'SharedMailbox',
    'LegacyMailbox',
    'RoomMailbox',
    'EquipmentMailbox',
    'MailContact',
    'MailUser',
    'MailUniversalDistributionGroup',
    'MailNonUniversalGroup',
    'MailUniversalSecurityGroup',
    'DynamicDistributionGroup',
    'PublicFolder',
    'SystemAttendantMailbox',
    'SystemMailbox',
    'MailForestContact',
    'User',
    'Contact',
    'UniversalDistributionGroup',
    'UniversalSecurityGroup',
    'NonUniversalGroup',
    'DisabledUser',
    'MicrosoftExchange',
    'ArbitrationMailbox',
    'MailboxPlan',
    'LinkedUser',
    'RoomList',
    'DiscoveryMailbox',
    'RoleGroup',
    'RemoteUserMailbox',
    'Computer',
    'RemoteRoomMailbox',
    'RemoteEquipmentMailbox',
    'RemoteSharedMailbox',
    'PublicFolderMailbox',
    'TeamMailbox',
    'RemoteTeamMailbox',
    'MonitoringMailbox',
    'GroupMailbox',
    'LinkedRoomMailbox',
    'AuditLogMailbox',
    'RemoteGroupMailbox',
    'SchedulingMailbox',
    'GuestMailUser',
    'AuxAuditLogMailbox',
    'SupervisoryReviewPolicyMailbox',
  ],
};

/** Microsoft.Exchange.Data.Directory.Recipient.RecipientType (Get-Recipient -RecipientType). */
export const RECIPIENT_TYPE: ParameterType = {
  typeName: 'Microsoft.Exchange.Data.Directory.Recipient.RecipientType',
  multi: true,
  enum: [
    'DynamicDistributionGroup',
    'MailContact',
    'MailNonUniversalGroup',
    'MailUniversalDistributionGroup',
    'MailUniversalSecurityGroup',
    'MailUser',
    'PublicFolder',
    'UserMailbox',
  ],
};

/** Lower-case name → canonical name, for `-Filter` over objects of this shape. */
export function filterableProperties(sample: Readonly<Record<string, unknown>>): ReadonlyMap<string, string> {
  return new Map(Object.keys(sample).map((key) => [key.toLowerCase(), key]));
}

/** Ambiguous name resolution: prefix match on the names people type. */
export function matchesAnr(object: Readonly<Record<string, unknown>>, anr: string): boolean {
  const needle = anr.toLowerCase();
  return ['DisplayName', 'Alias', 'Name', 'PrimarySmtpAddress'].some((key) => {
    const value = object[key];
    return typeof value === 'string' && value.toLowerCase().startsWith(needle);
  });
}
