/**
 * Storage throughput: streams N synthetic ~20-property objects (pages of 1000, with the property
 * types the service announces) through the file output store, and prints objects/s and peak RSS.
 *
 *   npx tsx bench/storage-throughput.ts [objects] [runs]
 *
 * `runs` is a comma-separated list of runs, each one format or several joined with `+` written
 * together in one run; default `jsonl+csv`. Each run is measured on its own, e.g.
 *
 *   npx tsx bench/storage-throughput.ts 100000 jsonl+csv,jsonl,csv,json,clixml
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OUTPUT_FORMATS, type CmdletPage, type OutputFormat } from '../src/core/ports.js';
import { createFileOutputStore } from '../src/storage/index.js';

const PAGE_SIZE = 1000;

// What the service's annotations announce for these properties (exchange-protocol.md §1.5).
const PROPERTY_TYPES: Record<string, string> = {
  Guid: 'System.Guid',
  ExchangeGuid: 'System.Guid',
  WhenCreated: 'System.DateTime',
  WhenChanged: 'System.DateTime',
  EmailAddresses: '#Collection(String)',
  ItemCount: 'System.Int32',
};

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

function parseRuns(spec: string): OutputFormat[][] {
  return spec.split(',').map((run) =>
    run.split('+').map((format) => {
      if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) throw new Error(`unknown format '${format}'; use ${OUTPUT_FORMATS.join(', ')}`);
      return format as OutputFormat;
    }),
  );
}

interface RunFigures {
  label: string;
  writeMs: number;
  commitMs: number;
  cpuMs: number;
  peakRssBytes: number;
  startRssBytes: number;
  files: { format: string; bytes: number }[];
}

async function measure(root: string, total: number, formats: OutputFormat[]): Promise<RunFigures> {
  const label = formats.join('+');
  const startRssBytes = process.memoryUsage().rss;
  let peakRssBytes = startRssBytes;
  const store = createFileOutputStore({ root });
  const output = await store.begin({
    runId: `bench-${formats.join('-')}`,
    job: 'bench',
    tenant: 'contoso.onmicrosoft.com',
    service: 'exo',
    cmdlet: 'Get-EXOMailbox',
    parameters: { ResultSize: 'Unlimited' },
    formats,
    localDate: '2026-01-01',
    attempt: 1,
  });
  // Page objects are built outside the timed span: only the store's cost is measured.
  let writeMs = 0;
  const cpuBefore = process.cpuUsage();
  for (let index = 0, done = 0; done < total; index++) {
    const count = Math.min(PAGE_SIZE, total - done);
    const objects = Array.from({ length: count }, (_, k) => mailbox(done + k));
    const page: CmdletPage = {
      index,
      objects,
      warnings: [],
      errors: [],
      requestId: `req-${index}`,
      clientRequestId: `c-${index}`,
      propertyTypes: PROPERTY_TYPES,
    };
    const started = performance.now();
    await output.writePage(page);
    writeMs += performance.now() - started;
    done += count;
    peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss);
  }
  const commitStarted = performance.now();
  const { manifest: manifest } = await output.commit();
  const commitMs = performance.now() - commitStarted;
  writeMs += commitMs;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    label,
    writeMs,
    commitMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    peakRssBytes,
    startRssBytes,
    files: manifest.files.map((file) => ({ format: file.format, bytes: file.bytes })),
  };
}

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 300_000);
  if (!Number.isInteger(total) || total <= 0) throw new Error(`objects must be a positive integer, got ${process.argv[2]}`);
  const runs = parseRuns(process.argv[3] ?? 'jsonl+csv');
  const root = await mkdtemp(path.join(os.tmpdir(), 'exorun-bench-'));
  const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
  try {
    console.log(`objects: ${total.toLocaleString('en-US')} per run, pages of ${PAGE_SIZE}`);
    console.log('run                    objects/s   store s  commit s  CPU s*  peak RSS MiB (before)  files');
    for (const formats of runs) {
      const figures = await measure(root, total, formats);
      // Removing each run's files keeps the disk from filling up over long series.
      await rm(path.join(root, 'bench'), { recursive: true, force: true });
      const rate = Math.round(total / (figures.writeMs / 1000)).toLocaleString('en-US');
      const files = figures.files.map((file) => `${mib(file.bytes)} MiB ${file.format}`).join(', ');
      console.log(
        `${figures.label.padEnd(22)} ${rate.padStart(9)}  ${(figures.writeMs / 1000).toFixed(2).padStart(7)}  ${(figures.commitMs / 1000).toFixed(2).padStart(8)}  ` +
          `${(figures.cpuMs / 1000).toFixed(2).padStart(6)}  ${`${mib(figures.peakRssBytes)} (${mib(figures.startRssBytes)})`.padStart(20)}  ${files}`,
      );
    }
    // Includes building the synthetic pages; shows how busy the core was, not the store alone.
    console.log('* process CPU during the run, page building included');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await main();
