import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Manifest } from '../../src/storage/index.js';

/** Every manifest under an output root, read back. */
export async function readManifests(root: string): Promise<Manifest[]> {
  const manifests: Manifest[] = [];
  for (const file of await listFiles(root)) {
    if (file.endsWith('.manifest.json') && !path.basename(file).startsWith('.')) manifests.push(JSON.parse(await readFile(file, 'utf8')) as Manifest);
  }
  return manifests;
}

export async function listFiles(root: string): Promise<string[]> {
  const found: string[] = [];
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true, recursive: true });
  } catch {
    return found;
  }
  for (const entry of entries) if (entry.isFile()) found.push(path.join(entry.parentPath, entry.name));
  return found.sort();
}

export async function readJsonl(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
