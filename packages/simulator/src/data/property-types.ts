/**
 * How each property of a result object is annotated on the wire (`@odata.type` and `@data.type`
 * siblings). Objects are kept
 * plain everywhere else; annotations are added only when a page is written.
 */
export type PropertyKind = 'string' | 'bool' | 'strings' | 'guid' | 'datetime' | 'int32' | 'int16';

/** Property name → kind. Properties not listed are written without annotations. */
export type PropertyTypes = Readonly<Record<string, PropertyKind>>;

/**
 * Adds `@odata.type` / `@data.type` annotations before each property that needs them. Null values
 * get no annotation (UNCONFIRMED: the captures seen show annotations on non-null values only).
 */
export function annotate(object: Readonly<Record<string, unknown>>, types: PropertyTypes): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    if (value !== null && value !== undefined) {
      switch (types[key]) {
        case 'strings':
          out[`${key}@odata.type`] = '#Collection(String)';
          break;
        case 'guid':
          out[`${key}@data.type`] = 'System.Guid';
          out[`${key}@odata.type`] = '#Guid';
          break;
        case 'datetime':
          out[`${key}@data.type`] = 'System.DateTime';
          break;
        case 'int32':
          out[`${key}@data.type`] = 'System.Int32';
          break;
        case 'int16':
          out[`${key}@data.type`] = 'System.Int16';
          out[`${key}@odata.type`] = '#Int16';
          break;
        default:
          break;
      }
    }
    out[key] = value;
  }
  return out;
}

/** Drops keys containing '@', which is what a client does to get plain objects back. */
export function stripAnnotations(object: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    if (!key.includes('@')) out[key] = value;
  }
  return out;
}

/** `$select`: keeps the named properties (case-insensitive), in the object's own order. */
export function selectProperties(object: Readonly<Record<string, unknown>>, select: ReadonlySet<string> | undefined): Record<string, unknown> {
  if (!select) return { ...object };
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    if (select.has(key.toLowerCase())) out[key] = value;
  }
  return out;
}
