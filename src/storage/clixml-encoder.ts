import { clixmlText } from './clixml-text.js';
import { stringSink, type TextSink } from './text-sink.js';
import { parseTypeHint, typedScalar, untypedNumber, type ScalarTag, type TypeHint } from './clixml-types.js';

/** Turns pages into one CLIXML document (what `Import-Clixml` reads), written piece by piece. */
export interface ClixmlEncoder {
  /** The text for one page; the document's opening tag comes with the first call. */
  encode(objects: readonly Record<string, unknown>[], propertyTypes?: Readonly<Record<string, string>>): string;
  /** {@link encode}, written into `out` an object at a time. */
  write(objects: readonly Record<string, unknown>[], propertyTypes: Readonly<Record<string, string>> | undefined, out: TextSink): void;
  /** The closing `</Objs>` (with the opening tag too when nothing was encoded). */
  end(): string;
}

const OPEN_DOCUMENT = '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">\n';
const CLOSE_DOCUMENT = '</Objs>\n';

/** Type name lists, most derived first, as they appear in `<TN>`. */
const TYPE_NAMES = {
  object: ['Deserialized.System.Management.Automation.PSCustomObject', 'Deserialized.System.Object'],
  list: ['System.Collections.ArrayList', 'System.Object'],
} as const;

type TypeKey = keyof typeof TYPE_NAMES;

// Elements are written as strings: building every object with fast-xml-parser's XMLBuilder
// (preserveOrder mode, needed to keep member order) measured about 20,000 objects/s against
// 67,000 for string building, and the few `<TN>` blocks of a document did not justify loading it.
function typeNamesElement(refId: number, names: readonly string[]): string {
  return `<TN RefId="${refId}">${names.map((name) => `<T>${clixmlText(name)}</T>`).join('')}</TN>`;
}

/**
 * CLIXML as Export-Clixml writes it for deserialized property bags:
 *
 * - one `<Obj RefId="n">` per object, typed `Deserialized.System.Management.Automation.PSCustomObject`
 *   by a `<TN>` on first use and `<TNRef>` afterwards, its properties in `<MS>`, in key order;
 * - RefIds count every `<Obj>` of the document (objects, lists, nested objects) in writing order;
 * - scalars by the page's `propertyTypes` when the value fits the announced type (see
 *   clixml-types.ts), else by JSON type: string `<S>`, boolean `<B>`, number `<I32>`/`<I64>`/`<Db>`,
 *   null `<Nil />`; a property whose value is `undefined` is left out, as in JSON;
 * - arrays as `System.Collections.ArrayList` objects holding an `<LST>`; items follow the same rules,
 *   typed by a `#Collection(T)` hint (or a scalar hint) when there is one;
 * - nested plain objects as nested PSCustomObject `<Obj>`s with their own `<MS>` (not `<DCT>`
 *   hashtables), so `$obj.Parent.Child` works after Import-Clixml; hints apply to top-level
 *   properties only, since that is all the service announces.
 *
 * Hints accumulate over the run's pages (a later page's announcement wins): a page whose values
 * are all null announces nothing, and its neighbours' types still apply. Properties are matched
 * to hints by exact name first, then case-insensitively, as PowerShell names are.
 *
 * One top-level object per line keeps the file greppable and lets it be written page by page.
 */
export function createClixmlEncoder(): ClixmlEncoder {
  let started = false;
  let nextObjectRefId = 0;
  let nextTypeRefId = 0;
  const typeRefIds = new Map<TypeKey, number>();
  const announced = new Map<string, string>();
  // Resolved per property name, including misses, so the case-insensitive fallback runs once a name.
  let hintCache = new Map<string, TypeHint | null>();
  // ` N="…"` per property name: a run has few distinct names and millions of members.
  const nameAttrs = new Map<string, string>();

  const nameAttr = (name: string): string => {
    let attr = nameAttrs.get(name);
    if (attr === undefined) {
      attr = ` N="${clixmlText(name)}"`;
      // Nested objects with data-driven keys must not grow the cache without bound.
      if (nameAttrs.size < 10_000) nameAttrs.set(name, attr);
    }
    return attr;
  };

  const typeNames = (key: TypeKey): string => {
    const known = typeRefIds.get(key);
    if (known !== undefined) return `<TNRef RefId="${known}" />`;
    const refId = nextTypeRefId++;
    typeRefIds.set(key, refId);
    return typeNamesElement(refId, TYPE_NAMES[key]);
  };

  const learnTypes = (propertyTypes: Readonly<Record<string, string>>): void => {
    let changed = false;
    for (const [name, type] of Object.entries(propertyTypes)) {
      if (announced.get(name) === type) continue;
      announced.set(name, type);
      changed = true;
    }
    if (changed) hintCache = new Map();
  };

  const hintOf = (name: string): TypeHint | undefined => {
    let hint = hintCache.get(name);
    if (hint === undefined) {
      let type = announced.get(name);
      if (type === undefined) {
        const lower = name.toLowerCase();
        for (const [other, otherType] of announced) {
          if (other.toLowerCase() === lower) {
            type = otherType;
            break;
          }
        }
      }
      hint = (type === undefined ? undefined : parseTypeHint(type)) ?? null;
      hintCache.set(name, hint);
    }
    return hint ?? undefined;
  };

  const scalarElement = (tag: ScalarTag, attr: string, text: string): string => `<${tag}${attr}>${tag === 'S' ? clixmlText(text) : text}</${tag}>`;

  /** One value as an element; `attr` is ` N="…"` for members and empty for list items. */
  const valueElement = (attr: string, value: unknown, hint: TypeHint | undefined): string => {
    if (value === null || value === undefined) return `<Nil${attr} />`;
    if (Array.isArray(value)) return listElement(attr, value, hint?.kind === 'collection' ? hint.item : hint);
    if (hint?.kind === 'scalar') {
      const typed = typedScalar(hint.tag, value);
      if (typed !== undefined) return scalarElement(typed[0], attr, typed[1]);
    }
    switch (typeof value) {
      case 'string':
        return `<S${attr}>${clixmlText(value)}</S>`;
      case 'boolean':
        return `<B${attr}>${value ? 'true' : 'false'}</B>`;
      case 'number': {
        const [tag, text] = untypedNumber(value);
        return `<${tag}${attr}>${text}</${tag}>`;
      }
      case 'bigint':
        return value >= -(2n ** 63n) && value < 2n ** 63n ? `<I64${attr}>${value}</I64>` : `<S${attr}>${value}</S>`;
      case 'object':
        return objectElement(attr, value as Record<string, unknown>, false);
      default:
        // Functions and symbols cannot come from JSON; JSON.stringify would turn them into null.
        return `<Nil${attr} />`;
    }
  };

  const listElement = (attr: string, items: readonly unknown[], itemHint: TypeHint | undefined): string => {
    const refId = nextObjectRefId++;
    let xml = `<Obj${attr} RefId="${refId}">${typeNames('list')}<LST>`;
    for (const item of items) xml += valueElement('', item, itemHint);
    return xml + '</LST></Obj>';
  };

  const objectElement = (attr: string, object: Record<string, unknown>, topLevel: boolean): string => {
    const refId = nextObjectRefId++;
    let xml = `<Obj${attr} RefId="${refId}">${typeNames('object')}<MS>`;
    for (const key of Object.keys(object)) {
      const value = object[key];
      if (value === undefined) continue;
      xml += valueElement(nameAttr(key), value, topLevel ? hintOf(key) : undefined);
    }
    return xml + '</MS></Obj>';
  };

  const write = (objects: readonly Record<string, unknown>[], propertyTypes: Readonly<Record<string, string>> | undefined, out: TextSink): void => {
    if (propertyTypes !== undefined) learnTypes(propertyTypes);
    if (!started) {
      started = true;
      out.write(OPEN_DOCUMENT);
    }
    for (const object of objects) out.write('  ' + objectElement('', object, true) + '\n');
  };

  return {
    write,
    encode(objects, propertyTypes) {
      const out = stringSink();
      write(objects, propertyTypes, out);
      return out.text;
    },
    end() {
      const text = started ? CLOSE_DOCUMENT : OPEN_DOCUMENT + CLOSE_DOCUMENT;
      started = true;
      return text;
    },
  };
}
