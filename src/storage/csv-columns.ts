import { renderCell } from './csv-cells.js';

/**
 * The column layout of one CSV file: which property paths get a column, and how a cell is read.
 *
 * Without flattening every top-level key is one column. With flattening, a key that holds plain
 * objects on the header page is split into `Key.Child` columns (recursively), and keeps a column
 * of its own only when it also held something else there (a string, a number, an array) or never
 * had any child keys (only `{}` or null seen).
 */
export interface CsvLayout {
  readonly names: readonly string[];
  /** The cells of one object, in column order. */
  cells(object: Record<string, unknown>, into: string[]): void;
  /**
   * Reports, once per path, data of `object` that has no cell: a key the header does not know, or
   * a non-object value at a path the header split into child columns only.
   */
  check(object: Record<string, unknown>, report: (path: string, kind: 'new-key' | 'not-an-object') => void): void;
}

interface ColumnNode {
  readonly name: string;
  readonly key: string;
  readonly children: Map<string, ColumnNode>;
  /** Held a value that is neither a plain object nor null/undefined. */
  sawOther: boolean;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `object[key]` only when it is the object's own; a missing 'constructor' must not find Object. */
function own(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

function nodeFor(nodes: Map<string, ColumnNode>, key: string, prefix: string): ColumnNode {
  let node = nodes.get(key);
  if (node === undefined) {
    node = { name: prefix + key, key, children: new Map(), sawOther: false };
    nodes.set(key, node);
  }
  return node;
}

function learn(nodes: Map<string, ColumnNode>, object: Record<string, unknown>, prefix: string, onlyKnown: boolean): void {
  for (const key of Object.keys(object)) {
    if (onlyKnown && !nodes.has(key)) continue;
    const node = nodeFor(nodes, key, prefix);
    const value = object[key];
    if (isPlainObject(value)) learn(node.children, value, node.name + '.', false);
    else if (value !== null && value !== undefined) node.sawOther = true;
  }
}

/** Reads one cell; `path` runs from the top-level key down to the column's own key. */
type CellReader = (object: Record<string, unknown>) => string;

function readerFor(path: readonly string[], hasChildren: boolean): CellReader {
  const first = path[0] ?? '';
  // The common case, a top-level property with no children, costs one lookup as before.
  if (path.length === 1 && !hasChildren) return (object) => renderCell(object[first]);
  return (object) => {
    let value: unknown = object;
    for (const key of path) {
      if (!isPlainObject(value)) return '';
      value = own(value, key);
    }
    // Objects at a split path are rendered by the child columns.
    return hasChildren && isPlainObject(value) ? '' : renderCell(value);
  };
}

function flattenNodes(nodes: Map<string, ColumnNode>, path: readonly string[], names: string[], readers: CellReader[]): void {
  for (const node of nodes.values()) {
    const nodePath = [...path, node.key];
    const hasChildren = node.children.size > 0;
    if (node.sawOther || !hasChildren) {
      names.push(node.name);
      readers.push(readerFor(nodePath, hasChildren));
    }
    flattenNodes(node.children, nodePath, names, readers);
  }
}

function checkNodes(
  nodes: Map<string, ColumnNode>,
  object: Record<string, unknown>,
  prefix: string,
  ignoreUnknown: boolean,
  report: (path: string, kind: 'new-key' | 'not-an-object') => void,
): void {
  for (const key of Object.keys(object)) {
    const node = nodes.get(key);
    if (node === undefined) {
      if (!ignoreUnknown) report(prefix + key, 'new-key');
      continue;
    }
    // A leaf column renders whatever it holds, objects as JSON, so nothing below it can be lost.
    if (node.children.size === 0) continue;
    const value = object[key];
    if (isPlainObject(value)) checkNodes(node.children, value, node.name + '.', false, report);
    else if (value !== null && value !== undefined && !node.sawOther) report(node.name, 'not-an-object');
  }
}

/**
 * The layout of a file from its header page. `fixed` (the run's `select`) fixes the top-level
 * columns and their order; keys outside it are the selection's business and never reported.
 */
export function createCsvLayout(objects: readonly Record<string, unknown>[], options: { fixed?: readonly string[]; flatten: boolean }): CsvLayout {
  const roots = new Map<string, ColumnNode>();
  const fixed = options.fixed;
  if (fixed !== undefined) for (const key of fixed) nodeFor(roots, key, '');
  if (options.flatten) {
    for (const object of objects) learn(roots, object, '', fixed !== undefined);
  } else if (fixed === undefined) {
    for (const object of objects) for (const key of Object.keys(object)) nodeFor(roots, key, '');
  }
  const names: string[] = [];
  const readers: CellReader[] = [];
  flattenNodes(roots, [], names, readers);
  const ignoreUnknown = fixed !== undefined;
  if ([...roots.values()].every((node) => node.children.size === 0)) return flatLayout(names, ignoreUnknown);
  return {
    names,
    cells(object, into) {
      let i = 0;
      for (const read of readers) into[i++] = read(object);
    },
    check(object, report) {
      checkNodes(roots, object, '', ignoreUnknown, report);
    },
  };
}

/** No nested columns (the usual cmdlet result): one plain lookup per cell, one Set test per key. */
function flatLayout(names: readonly string[], ignoreUnknown: boolean): CsvLayout {
  const known = new Set(names);
  return {
    names,
    cells(object, into) {
      for (let i = 0; i < names.length; i++) into[i] = renderCell(object[names[i] ?? '']);
    },
    check(object, report) {
      if (ignoreUnknown) return;
      for (const key of Object.keys(object)) if (!known.has(key)) report(key, 'new-key');
    },
  };
}
