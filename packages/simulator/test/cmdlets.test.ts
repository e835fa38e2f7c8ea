import { describe, expect, it } from 'vitest';
import { CmdletError } from '../src/cmdlets/cmdlet-error.js';
import { matchesFilter, parseFilter } from '../src/cmdlets/filter.js';
import { createCmdletRegistry } from '../src/cmdlets/registry.js';
import { createTenantDataset } from '../src/data/tenant-dataset.js';
import { createTenantData } from '../src/tenant-data.js';

const data = createTenantData(
  createTenantDataset({ tenantId: '0f6ad3d6-5f0c-4d0b-9e6a-1d2b3c4d5e6f', organization: 'contoso.onmicrosoft.com', seed: 1, mailboxCount: 400 }),
  createCmdletRegistry(),
);

function failure(run: () => unknown): CmdletError {
  try {
    run();
  } catch (error) {
    if (error instanceof CmdletError) return error;
    throw error;
  }
  throw new Error('expected a CmdletError');
}

const filterable = new Map(
  ['Name', 'RecipientTypeDetails', 'DisplayName', 'EmailAddresses', 'LitigationHoldEnabled', 'Office'].map((key) => [key.toLowerCase(), key]),
);

describe('the -Filter subset', () => {
  const object = {
    Name: 'adele.vance1',
    RecipientTypeDetails: 'UserMailbox',
    DisplayName: "O'Brien, Seán",
    EmailAddresses: ['SMTP:a@x.com', 'smtp:b@y.com'],
    LitigationHoldEnabled: true,
    Office: null,
  };

  it.each([
    ["RecipientTypeDetails -eq 'UserMailbox'", true],
    ["recipienttypedetails -EQ 'usermailbox'", true],
    ["RecipientTypeDetails -ne 'UserMailbox'", false],
    ["Name -like 'adele*'", true],
    ["Name -like '*vance1'", true],
    ["Name -notlike 'adele*'", false],
    ["DisplayName -eq 'O''Brien, Seán'", true],
    ['DisplayName -eq "O\'Brien, Seán"', true],
    ["Name -like 'a*' -and RecipientTypeDetails -eq 'SharedMailbox'", false],
    ["(Name -like 'a*') -and (RecipientTypeDetails -eq 'UserMailbox')", true],
    ["EmailAddresses -eq 'smtp:b@y.com'", true],
    ['LitigationHoldEnabled -eq $true', true],
    ["LitigationHoldEnabled -eq 'False'", false],
    ['Office -eq $null', true],
  ])('%s → %s', (text, expected) => {
    expect(matchesFilter(parseFilter(text, filterable), object)).toBe(expected);
  });

  it.each(["Name -or 'x'", "Name -eq 'x' -or Name -eq 'y'", "Name -eq 'x", 'Name -eq', "Name 'x'", "(Name -eq 'x'", "Name -eq 'x')", ''])(
    'rejects %j as invalid syntax',
    (text) => {
      const error = failure(() => parseFilter(text, filterable));
      expect(error.status).toBe(400);
      expect(error.exceptionType).toBe('System.Management.Automation.ParameterBindingException');
      expect(error.text).toMatch(/Invalid filter syntax/);
    },
  );

  it('rejects unknown properties', () => {
    expect(failure(() => parseFilter("Nope -eq 'x'", filterable)).text).toMatch(/"Nope" is not a recognized filterable property/);
  });

  it('filters Get-Mailbox results', () => {
    const shared = [...data.results('Get-Mailbox', { Filter: "RecipientTypeDetails -eq 'SharedMailbox'", ResultSize: 'Unlimited' })];
    expect(shared.length).toBeGreaterThan(0);
    expect(shared.every((mailbox) => mailbox['RecipientTypeDetails'] === 'SharedMailbox')).toBe(true);
    const rooms = [...data.results('Get-Mailbox', { Filter: "Name -like 'room.*'" })];
    expect(rooms.every((mailbox) => mailbox['RecipientTypeDetails'] === 'RoomMailbox')).toBe(true);
  });
});

describe('parameter validation', () => {
  it('refuses unknown parameters like PowerShell', () => {
    const error = failure(() => data.results('Get-Mailbox', { Foo: 1 }));
    expect(error).toMatchObject({
      status: 400,
      code: 'BadRequest',
      errorId: 'Ex2F5D1A',
      exceptionType: 'System.Management.Automation.ParameterBindingException',
    });
    expect(error.text).toBe("A parameter cannot be found that matches parameter name 'Foo'.");
  });

  it('names missing mandatory parameters', () => {
    expect(failure(() => data.results('Get-MailboxPermission', {})).text).toBe(
      'Cannot process command because of one or more missing mandatory parameters: Identity.',
    );
  });

  it('refuses bad values', () => {
    expect(failure(() => data.results('Get-Mailbox', { ResultSize: 'abc' })).text).toMatch(
      /Cannot convert value "abc" to type "Microsoft\.Exchange\.Data\.Unlimited`1\[System\.UInt32\]"/,
    );
    expect(failure(() => data.results('Get-Mailbox', { ResultSize: 0 })).status).toBe(400);
    expect(failure(() => data.results('Get-Mailbox', { RecipientTypeDetails: 'Nope' })).text).toMatch(
      /Cannot convert value "Nope" to type "Microsoft\.Exchange\.Data\.Directory\.Recipient\.RecipientTypeDetails"\. Error: "Unable to match the identifier name Nope to a valid enumerator name/,
    );
    expect(failure(() => data.results('Get-Mailbox', { Archive: 'perhaps' })).text).toMatch(/SwitchParameter/);
    expect(failure(() => data.results('Get-Mailbox', { Identity: null })).text).toMatch(/because it is null/);
    expect(failure(() => data.results('Get-Mailbox', { identity: 'a', Identity: 'b' })).text).toMatch(/specified more than once/);
  });

  it('accepts case-insensitive names, common parameters, annotations and real-but-ignored parameters', () => {
    expect([
      ...data.results('get-mailbox', { resultsize: 5, ErrorAction: 'Stop', WarningAction: 'SilentlyContinue', SortBy: 'Name', 'Foo@odata.type': '#x' }),
    ]).toHaveLength(5);
  });

  it('reports unknown objects as 404 naming the domain controller', () => {
    const error = failure(() => data.results('Get-Mailbox', { Identity: 'nobody' }));
    expect(error).toMatchObject({ status: 404, code: 'NotFound', errorId: 'Ex6F9304' });
    expect(error.text).toMatch(
      /^The operation couldn't be performed because object 'nobody' couldn't be found on '[A-Z0-9]+\.[A-Z]{3}PRD\d+\.PROD\.OUTLOOK\.COM'\.$/,
    );
  });

  it('reports unknown cmdlets', () => {
    expect(failure(() => data.results('Get-Foo')).status).toBe(403);
  });
});

describe('cmdlet results', () => {
  it('returns the union of several RecipientTypeDetails', () => {
    const all = [...data.results('Get-Mailbox', { ResultSize: 'Unlimited' })];
    const union = [...data.results('Get-Mailbox', { ResultSize: 'Unlimited', RecipientTypeDetails: ['SharedMailbox', 'roommailbox'] })];
    expect(union).toEqual(all.filter((m) => m['RecipientTypeDetails'] === 'SharedMailbox' || m['RecipientTypeDetails'] === 'RoomMailbox'));
  });

  it('honours ResultSize and Identity', () => {
    expect([...data.results('Get-Mailbox', { ResultSize: 7 })]).toHaveLength(7);
    expect([...data.results('Get-Mailbox', { ResultSize: '7' })]).toHaveLength(7);
    const third = [...data.results('Get-Mailbox', { ResultSize: 3 })][2]!;
    expect([...data.results('Get-Mailbox', { Identity: third['UserPrincipalName'] })]).toEqual([third]);
  });

  it('lists mailboxes, then groups, then contacts as recipients', () => {
    const recipients = [...data.results('Get-Recipient', { ResultSize: 'Unlimited' })];
    expect(recipients).toHaveLength(400 + 20 + 16);
    expect(recipients[400]?.['RecipientTypeDetails']).toBe('MailUniversalDistributionGroup');
    expect(recipients.at(-1)?.['RecipientTypeDetails']).toBe('MailContact');
    const contacts = [...data.results('Get-Recipient', { RecipientType: 'MailContact' })];
    expect(contacts).toHaveLength(16);
  });

  it('lists permissions with SELF first', () => {
    const permissions = [...data.results('Get-MailboxPermission', { Identity: [...data.results('Get-Mailbox', { ResultSize: 1 })][0]!['Alias'] })];
    expect(permissions[0]).toMatchObject({
      User: 'NT AUTHORITY\\SELF',
      AccessRights: ['FullAccess', 'ReadPermission'],
      IsInherited: false,
      Deny: false,
      InheritanceType: 'All',
    });
    expect(permissions.length).toBeLessThanOrEqual(4);
  });

  it('serves organization config, accepted domains and IPPS policies', () => {
    expect([...data.results('Get-OrganizationConfig')]).toEqual([expect.objectContaining({ Name: 'contoso', IsDehydrated: false })]);
    const domains = [...data.results('Get-AcceptedDomain')];
    expect(domains.map((d) => d['DomainName'])).toEqual(['contoso.onmicrosoft.com', 'contoso.mail.onmicrosoft.com', 'contoso.com']);
    expect(domains.filter((d) => d['Default'] === true)).toHaveLength(1);
    const policies = [...data.results('Get-RetentionCompliancePolicy')];
    expect(policies.length).toBe(6);
    expect([...data.results('Get-RetentionCompliancePolicy', { Identity: policies[2]!['Name'] })]).toEqual([policies[2]]);
    expect([...data.results('Get-DlpCompliancePolicy')]).toHaveLength(4);
  });
});
