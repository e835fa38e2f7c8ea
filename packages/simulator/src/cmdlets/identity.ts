import type { TenantDataset } from '../data/tenant-dataset.js';
import { notFoundError } from './cmdlet-error.js';

/** Looks `identity` up among a small list by any of `keys` (case-insensitive), or throws the 404. */
export function findByIdentity(
  dataset: TenantDataset,
  objects: readonly Record<string, unknown>[],
  identity: string,
  keys: readonly string[],
): Record<string, unknown> {
  const wanted = identity
    .trim()
    .replace(/^\{(.*)\}$/, '$1')
    .toLowerCase();
  const found = objects.find((object) => keys.some((key) => String(object[key]).toLowerCase() === wanted));
  if (!found) throw notFoundError(identity, dataset.domainController);
  return found;
}
