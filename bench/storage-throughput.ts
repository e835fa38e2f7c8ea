/**
 * Storage throughput: streams N synthetic ~20-property objects (pages of 1000) through the file
 * output store with JSONL and CSV, and prints objects/s and peak RSS.
 *
 *   npx tsx bench/storage-throughput.ts [objects]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CmdletPage } from '../src/core/ports.js';
import { createFileOutputStore } from '../src/storage/index.js';

const PAGE_SIZE = 1000;

function mailbox(i: number): Record<string, unknown> {
  return {
    Identity: `user${i}@contoso.onmicrosoft.com`,
    DisplayName: `User ${i}, Müller "Zoë"`,
    Alias: `user${i}`,
    PrimarySmtpAddress: `user${i}@contoso.com`,
    UserPrincipalName: `user${i}@contoso.com`,
    RecipientTypeDetails: i % 10 === 0 ? 'SharedMailbox' : 'UserMailbox',
    Guid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    ExchangeGuid: `11111111-0000-4000-8000-${String(i).padStart(12, '0')}`,
    WhenCreated: new Date(1_600_000_000_000 + i * 60_000).toISOString(),
    WhenChanged: new Date(1_700_000_000_000 + i * 60_000).toISOString(),
    IsMailboxEnabled: true,
    HiddenFromAddressListsEnabled: i % 7 === 0,
    LitigationHoldEnabled: i % 13 === 0,
    DistinguishedName: `CN=user${i},OU=contoso.onmicrosoft.com,OU=Microsoft Exchange Hosted Organizations,DC=EURPR01A001,DC=PROD,DC=OUTLOOK,DC=COM`,
    ProhibitSendQuota: '99 GB (106,300,440,576 bytes)',
    IssueWarningQuota: '98 GB (105,226,698,752 bytes)',
    RetentionPolicy: 'Default MRM Policy',
    EmailAddresses: [`SMTP:user${i}@contoso.com`, `smtp:user${i}@contoso.onmicrosoft.com`],
    ItemCount: i * 17,
    CustomAttribute1: i % 2 === 0 ? null : `dept-${i % 40}`,
  };
}

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 300_000);
  if (!Number.isInteger(total) || total <= 0) throw new Error(`objects must be a positive integer, got ${process.argv[2]}`);
  const root = await mkdtemp(path.join(os.tmpdir(), 'exorun-bench-'));
  const startRssBytes = process.memoryUsage().rss;
  let peakRssBytes = startRssBytes;
  try {
    const store = createFileOutputStore({ root });
    const output = await store.begin({
      runId: 'bench',
      job: 'bench',
      tenant: 'contoso.onmicrosoft.com',
      service: 'exo',
      cmdlet: 'Get-EXOMailbox',
      parameters: { ResultSize: 'Unlimited' },
      formats: ['jsonl', 'csv'],
      localDate: '2026-01-01',
      attempt: 1,
    });
    // Page objects are built outside the timed span: only the store's cost is measured.
    let writeMs = 0;
    const cpuBefore = process.cpuUsage();
    for (let index = 0, done = 0; done < total; index++) {
      const count = Math.min(PAGE_SIZE, total - done);
      const objects = Array.from({ length: count }, (_, k) => mailbox(done + k));
      const page: CmdletPage = { index, objects, warnings: [], errors: [], requestId: `req-${index}`, clientRequestId: `c-${index}` };
      const started = performance.now();
      await output.writePage(page);
      writeMs += performance.now() - started;
      done += count;
      peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss);
    }
    const commitStarted = performance.now();
    const manifest = await output.commit();
    const commitMs = performance.now() - commitStarted;
    writeMs += commitMs;
    const cpu = process.cpuUsage(cpuBefore);
    const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
    console.log(`objects:       ${total.toLocaleString('en-US')}`);
    console.log(`store time:    ${(writeMs / 1000).toFixed(2)} s`);
    console.log(`  of which:    ${(commitMs / 1000).toFixed(2)} s commit (fsync + rename)`);
    console.log(`throughput:    ${Math.round(total / (writeMs / 1000)).toLocaleString('en-US')} objects/s (JSONL + CSV)`);
    // Includes building the synthetic pages; shows how busy the core was, not the store alone.
    console.log(`process CPU:   ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s`);
    for (const file of manifest.files) console.log(`${file.format.padEnd(5)} file:    ${mib(file.bytes)} MiB`);
    console.log(`peak RSS:      ${mib(peakRssBytes)} MiB (${mib(startRssBytes)} MiB before the run)`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await main();
