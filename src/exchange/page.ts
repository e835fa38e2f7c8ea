import { AppError } from '../core/index.js';
import { splitPageBody } from './page-split.js';

/** Bodies from this size are read object by object (see page-split.ts); smaller ones whole. */
const SPLIT_FROM_BYTES = 64 * 1024;

export interface ParsedPage {
  objects: Record<string, unknown>[];
  /** Property types from the annotations of the page's objects (first seen wins). */
  propertyTypes: Record<string, string>;
  warnings: string[];
  errors: unknown[];
  nextLink: string | undefined;
}

/**
 * Reads one successful InvokeCommand page. OData annotations (keys containing '@', such as
 * `EmailAddresses@odata.type`) are removed so objects are plain; `select` projects each object to
 * those properties, in that order, matching names case-insensitively as PowerShell does.
 */
export function parsePage(body: Buffer, select: readonly string[] | undefined, context: Record<string, unknown>): ParsedPage {
  let json: Record<string, unknown>;
  let items: Record<string, unknown>[];
  try {
    const split = body.length >= SPLIT_FROM_BYTES ? splitPageBody(body) : undefined;
    if (split) {
      json = split.envelope;
      items = split.items;
    } else {
      json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      const value = json['value'];
      if (value !== undefined && !Array.isArray(value)) {
        throw new AppError('EXO_BAD_RESPONSE', 'The service answered 200 without a value array.', { details: context });
      }
      items = (value ?? []) as Record<string, unknown>[];
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError('EXO_BAD_RESPONSE', `The service answered 200 with a body that is not JSON (${body.length} bytes).`, { cause: error, details: context });
  }
  const warnings = json['@adminapi.warnings'];
  const errors = json['@adminapi.errors'];
  const nextLink = json['@odata.nextLink'];
  const propertyTypes: Record<string, string> = {};
  // One pass per object strips the annotations and collects the types they announce: on large
  // results this loop is most of the client's CPU per page.
  let objects: Record<string, unknown>[];
  if (select) {
    const selected = selectedKeys(select);
    objects = items.map((item) => pickSelected(item, selected, propertyTypes) ?? project(stripAndCollect(item, propertyTypes), select));
  } else {
    objects = items.map((item) => stripAndCollect(item, propertyTypes));
  }
  return {
    objects,
    propertyTypes,
    warnings: Array.isArray(warnings) ? warnings.map(String) : [],
    errors: Array.isArray(errors) ? errors : [],
    nextLink: typeof nextLink === 'string' && nextLink !== '' ? nextLink : undefined,
  };
}

interface SelectedKey {
  name: string;
  dataType: string;
  odataType: string;
}

function selectedKeys(select: readonly string[]): SelectedKey[] {
  return select.map((name) => ({ name, dataType: `${name}@data.type`, odataType: `${name}@odata.type` }));
}

/**
 * The selected properties of an object that has each of them under its exact name (what the
 * service returns for `$select`), with their types; undefined when a name is missing, and the
 * caller takes the general path (annotations stripped, names matched case-insensitively). Copying
 * only the selected keys makes one object per row instead of two.
 */
function pickSelected(object: Record<string, unknown>, selected: readonly SelectedKey[], types: Record<string, string>): Record<string, unknown> | undefined {
  const picked: Record<string, unknown> = {};
  for (const key of selected) {
    if (!Object.hasOwn(object, key.name)) return undefined;
    picked[key.name] = object[key.name];
    const dataType = object[key.dataType];
    if (typeof dataType === 'string') types[key.name] = dataType;
    else if (types[key.name] === undefined) {
      const odataType = object[key.odataType];
      if (typeof odataType === 'string') types[key.name] = odataType;
    }
  }
  return picked;
}

/**
 * The object without its annotation keys; the annotations' types go into `types`:
 * `Prop@data.type` (System.Guid, System.DateTime, System.Int32…) wins over `Prop@odata.type`
 * (#Collection(String), #Guid…), whichever comes first.
 */
function stripAndCollect(object: Record<string, unknown>, types: Record<string, string>): Record<string, unknown> {
  const plain: Record<string, unknown> = {};
  for (const key in object) {
    const value = object[key];
    const at = key.indexOf('@');
    if (at < 0) {
      plain[key] = value;
      continue;
    }
    if (at === 0 || typeof value !== 'string') continue;
    const annotation = key.slice(at + 1);
    if (annotation === 'data.type') types[key.slice(0, at)] = value;
    else if (annotation === 'odata.type') {
      const property = key.slice(0, at);
      if (types[property] === undefined) types[property] = value;
    }
  }
  return plain;
}

export function stripAnnotations(object: Record<string, unknown>): Record<string, unknown> {
  const plain: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    if (!key.includes('@')) plain[key] = value;
  }
  return plain;
}

function project(object: Record<string, unknown>, select: readonly string[] | undefined): Record<string, unknown> {
  if (!select) return object;
  const projected: Record<string, unknown> = {};
  // The service returns the names as selected, so the case-insensitive map is built only for an
  // object that lacks one of them.
  let lowerKeys: Map<string, string> | undefined;
  for (const name of select) {
    if (Object.hasOwn(object, name)) {
      projected[name] = object[name];
      continue;
    }
    lowerKeys ??= new Map(Object.keys(object).map((key) => [key.toLowerCase(), key]));
    const key = lowerKeys.get(name.toLowerCase());
    if (key !== undefined) projected[name] = object[key];
  }
  return projected;
}
