/**
 * The file output store: streams a run's pages to JSONL and CSV under temporary names, renames
 * them into place on commit and writes the manifest last.
 */
export { createFileOutputStore, type FileOutputStoreOptions } from './file-output-store.js';
export { readManifest } from './manifest.js';
export { manifestPath, type RunLocation } from './paths.js';
