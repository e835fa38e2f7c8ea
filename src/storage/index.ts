/**
 * The file output store: streams a run's pages to JSONL, CSV, JSON and CLIXML under temporary
 * names, renames them into place on commit and writes the manifest last; lists runs and applies
 * retention by their manifests.
 */
export { createFileOutputStore, type FileOutputStoreOptions } from './file-output-store.js';
export { MANIFEST_ERRORS_LIMIT, readManifest, type Manifest, type ManifestFile, type RunStatus } from './manifest.js';
export { readJsonlObjects } from './jsonl-reader.js';
export { manifestPath, type RunLocation } from './paths.js';
export { ORPHAN_AGE_MS, pruneRuns, type PruneOptions, type PruneResult, type PrunedOrphan, type PrunedRun } from './retention.js';
export { listRuns, type RunListing, type RunSummary } from './run-index.js';
export { MANIFEST_SUFFIX } from './paths.js';
