#!/usr/bin/env node
// npm ci refuses a package-lock.json that lacks an entry for any optional dependency, even one
// for another platform that it would skip. Behind a registry mirror that only carries linux-x64
// builds, `npm install` writes such a lock (msgpackr-extract's darwin/win32/arm builds, pulled in
// by bullmq → msgpackr). This checks the lock and, with --fix, adds platform-only entries:
// npm ci skips them on non-matching machines without downloading anything.
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages;
const PLATFORM = /-(darwin|linux|win32|freebsd|android|sunos|openbsd|aix)-(x64|arm64|arm|ia32|ppc64|s390x|riscv64|loong64)(?:-[a-z]+)?$/;

const missing = [];
for (const [location, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${location}/node_modules/${name}`;
    if (packages[nested] || packages[`node_modules/${name}`]) continue;
    missing.push({ name, version });
  }
}

if (missing.length === 0) process.exit(0);
if (!process.argv.includes('--fix')) {
  console.error(`package-lock.json lacks optional dependencies npm ci will ask for: ${missing.map((m) => `${m.name}@${m.version}`).join(', ')}`);
  console.error('Run `node scripts/lockfile-platforms.mjs --fix` (see the comment at its top).');
  process.exit(1);
}
for (const { name, version } of missing) {
  const match = PLATFORM.exec(name);
  if (!match) {
    console.error(`cannot tell the platform of ${name}; add its lock entry by hand`);
    process.exit(1);
  }
  packages[`node_modules/${name}`] = { version, cpu: [match[2]], license: 'MIT', optional: true, os: [match[1]] };
}
lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`added ${missing.length} platform entries to package-lock.json`);
