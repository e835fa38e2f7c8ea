import { describe, expect, it } from 'vitest';
import { isReadOnlyCmdlet, writingParametersOf } from '../../../src/core/cmdlets.js';

describe('which calls can change a tenant', () => {
  it('reads by verb, in any case', () => {
    expect(isReadOnlyCmdlet('Get-Mailbox')).toBe(true);
    expect(isReadOnlyCmdlet('search-unifiedauditlog')).toBe(true);
    expect(isReadOnlyCmdlet('Set-Mailbox')).toBe(false);
    expect(isReadOnlyCmdlet('Remove-Mailbox', {})).toBe(false);
  });

  it('treats a reading verb with a writing parameter as a write (Search-Mailbox -DeleteContent)', () => {
    expect(isReadOnlyCmdlet('Search-Mailbox', { SearchQuery: 'subject:x', DeleteContent: true })).toBe(false);
    expect(isReadOnlyCmdlet('Search-Mailbox', { deletecontent: true })).toBe(false);
    expect(isReadOnlyCmdlet('Search-Mailbox', { TargetMailbox: 'discovery@contoso.com', TargetFolder: 'x' })).toBe(false);
    // A switch written as false is not set.
    expect(isReadOnlyCmdlet('Search-Mailbox', { DeleteContent: false, EstimateResultOnly: true })).toBe(true);
    expect(writingParametersOf({ Identity: 'x', DELETECONTENT: true, TargetMailbox: 'y' })).toEqual(['DELETECONTENT', 'TargetMailbox']);
  });
});
