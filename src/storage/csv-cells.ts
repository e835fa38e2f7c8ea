/**
 * Renders one property value as a CSV cell the way people expect from PowerShell's Export-Csv:
 * booleans as True/False, nothing for null. Arrays become `a; b` because Export-Csv's
 * `System.Object[]` is useless; anything structured becomes compact JSON so no data is lost.
 */
export function renderCell(value: unknown): string {
  if (Array.isArray(value)) {
    let text = '';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) text += '; ';
      const item: unknown = value[i];
      // A nested array joined again would be indistinguishable from its parent's items.
      text += Array.isArray(item) ? JSON.stringify(item) : renderScalarOrObject(item);
    }
    return text;
  }
  return renderScalarOrObject(value);
}

function renderScalarOrObject(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'bigint':
      return String(value);
    case 'boolean':
      return value ? 'True' : 'False';
    case 'undefined':
      return '';
    case 'object':
      return value === null ? '' : JSON.stringify(value);
    default:
      return '';
  }
}
