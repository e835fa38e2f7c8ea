import { describe, expect, it, vi } from 'vitest';
import { createCmdletRegistry } from '../src/cmdlets/registry.js';
import { createTenantDataset } from '../src/data/tenant-dataset.js';
import { createTenantData } from '../src/tenant-data.js';
import { MORE_RESULTS_WARNING } from '../src/cmdlets/result-window.js';
import { getMailbox } from '../src/cmdlets/get-mailbox.js';
import { bindParameters } from '../src/cmdlets/binding.js';
import { takeWindow, resultLimit } from '../src/cmdlets/result-window.js';

const TENANT = { tenantId: '0f6ad3d6-5f0c-4d0b-9e6a-1d2b3c4d5e6f', organization: 'contoso.onmicrosoft.com' };

function dataset(seed: number, mailboxCount: number) {
  return createTenantDataset({ ...TENANT, seed, mailboxCount });
}

function hasNonAscii(text: string): boolean {
  return [...text].some((char) => char.codePointAt(0)! > 0x7f);
}

describe('seeded tenant data', () => {
  it('is the same for the same seed and differs for another seed', () => {
    const a = dataset(7, 500);
    const b = dataset(7, 500);
    const c = dataset(8, 500);
    for (const index of [0, 1, 250, 499]) expect(a.mailboxes.at(index)).toEqual(b.mailboxes.at(index));
    expect(a.mailboxPermissions(3)).toEqual(b.mailboxPermissions(3));
    expect(a.retentionPolicies()).toEqual(b.retentionPolicies());
    const differing = [0, 1, 2, 3, 4].filter((index) => JSON.stringify(a.mailboxes.at(index)) !== JSON.stringify(c.mailboxes.at(index)));
    expect(differing.length).toBeGreaterThan(3);
  });

  it('does not depend on which objects were generated before', () => {
    const fresh = dataset(3, 1000);
    const used = dataset(3, 1000);
    for (let i = 0; i < 100; i++) used.mailboxes.at(i);
    expect(fresh.mailboxes.at(999)).toEqual(used.mailboxes.at(999));
  });

  it('includes display names that are hard for CSV and JSON writers', () => {
    const { mailboxes } = dataset(1, 3000);
    const names = Array.from({ length: mailboxes.count }, (_, i) => String(mailboxes.at(i)['DisplayName']));
    expect(names.some((name) => name.includes(','))).toBe(true);
    expect(names.some((name) => name.includes('"'))).toBe(true);
    expect(names.some((name) => name.includes('\n'))).toBe(true);
    expect(names.some(hasNonAscii)).toBe(true);
    const difficult = names.filter((name) => /[,"\n]/.test(name) || hasNonAscii(name)).length;
    expect(difficult / names.length).toBeGreaterThan(0.02);
    expect(difficult / names.length).toBeLessThan(0.1);
    const aliases = Array.from({ length: 200 }, (_, i) => String(mailboxes.at(i)['Alias']));
    expect(aliases.every((alias) => /^[a-z.]+\d+$/.test(alias))).toBe(true);
  });

  it('mixes recipient types, mostly user mailboxes', () => {
    const { mailboxes } = dataset(1, 2000);
    const counts = new Map<string, number>();
    for (let i = 0; i < mailboxes.count; i++) counts.set(mailboxes.typeAt(i), (counts.get(mailboxes.typeAt(i)) ?? 0) + 1);
    expect((counts.get('UserMailbox') ?? 0) / 2000).toBeGreaterThan(0.7);
    for (const type of ['SharedMailbox', 'RoomMailbox', 'EquipmentMailbox']) expect(counts.get(type)).toBeGreaterThan(0);
    for (let i = 0; i < 50; i++) expect(mailboxes.at(i)['RecipientTypeDetails']).toBe(mailboxes.typeAt(i));
  });
});

describe('identity resolution', () => {
  const million = dataset(1, 1_000_000);

  it.each([0, 1, 999_999])('finds mailbox %i of a million by every identity form', (index) => {
    const mailbox = million.mailboxes.at(index);
    const forms = [
      mailbox['Name'],
      mailbox['Alias'],
      String(mailbox['Alias']).toUpperCase(),
      mailbox['UserPrincipalName'],
      mailbox['PrimarySmtpAddress'],
      `smtp:${String(mailbox['PrimarySmtpAddress'])}`,
      String((mailbox['EmailAddresses'] as string[])[1]).slice(5),
      mailbox['ExchangeGuid'],
      `{${String(mailbox['Guid']).toUpperCase()}}`,
      mailbox['ExternalDirectoryObjectId'],
    ] as string[];
    for (const form of forms) expect(million.mailboxes.resolve(form), form).toBe(index);
  });

  it('does not resolve look-alikes', () => {
    const alias = String(million.mailboxes.at(42)['Alias']);
    expect(million.mailboxes.resolve(alias.replace(/\d+$/, '43'))).toBeUndefined();
    expect(million.mailboxes.resolve(alias.replace(/\d+$/, '042'))).toBeUndefined();
    expect(million.mailboxes.resolve(`${alias}@fabrikam.com`)).toBeUndefined();
    expect(million.mailboxes.resolve('nobody')).toBeUndefined();
    expect(million.mailboxes.resolve('adele.vance1000000')).toBeUndefined();
    expect(million.mailboxes.resolve('00000000-0000-4000-8000-000000000000')).toBeUndefined();
  });

  it('resolves groups and contacts in the recipient directory', () => {
    const small = dataset(1, 100);
    const { recipients } = small;
    expect(recipients.total).toBe(100 + 5 + 4);
    for (const position of [100, 104, 105, 108]) {
      const recipient = recipients.at(position);
      for (const form of [recipient['Alias'], recipient['PrimarySmtpAddress'], recipient['Guid'], recipient['ExternalDirectoryObjectId']] as string[]) {
        expect(recipients.resolve(form), form).toBe(position);
      }
    }
    expect(recipients.resolve(String(small.mailboxes.at(7)['Guid']))).toBe(7);
  });
});

describe('a million mailboxes', () => {
  it('generates a late page without materialising earlier objects', () => {
    const ds = dataset(1, 1_000_000);
    const at = vi.spyOn(ds.mailboxes, 'at');
    const parameters = bindParameters(getMailbox, { ResultSize: 'Unlimited' });
    const window = takeWindow(getMailbox.run(ds, parameters, { nowMs: Date.now(), continuation: false }), {
      from: 999_000,
      emitted: 0,
      pageSize: 1000,
      limit: resultLimit(getMailbox, parameters),
    });
    expect(window.rows).toHaveLength(1000);
    expect(window.rows[999]?.position).toBe(999_999);
    expect(window.next).toBeUndefined();
    expect(at).toHaveBeenCalledTimes(1000);
  });

  it('stops at 1000 by default with the "more results" warning', () => {
    const ds = dataset(1, 1_000_000);
    const at = vi.spyOn(ds.mailboxes, 'at');
    const parameters = bindParameters(getMailbox, {});
    const window = takeWindow(getMailbox.run(ds, parameters, { nowMs: Date.now(), continuation: false }), {
      from: 0,
      emitted: 0,
      pageSize: 1000,
      limit: resultLimit(getMailbox, parameters),
    });
    expect(window.rows).toHaveLength(1000);
    expect(window.next).toBeUndefined();
    expect(window.truncated).toBe(true);
    expect(at).toHaveBeenCalledTimes(1001);
    expect(MORE_RESULTS_WARNING).toMatch(/increase the value for the ResultSize parameter/);
  });

  it('serves TenantData.results lazily', () => {
    const ds = dataset(1, 1_000_000);
    const data = createTenantData(ds, createCmdletRegistry());
    const at = vi.spyOn(ds.mailboxes, 'at');
    const iterator = data.results('Get-Mailbox', { ResultSize: 'Unlimited' })[Symbol.iterator]();
    for (let i = 0; i < 10; i++) iterator.next();
    expect(at.mock.calls.length).toBeLessThanOrEqual(1001);
    expect([...data.results('get-mailbox')]).toHaveLength(1000);
  });
});
