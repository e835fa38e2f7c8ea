import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { formatPath, type ConfigProblem } from './problems.js';

/**
 * A parsed YAML file that remembers where every value came from, so schema problems found on the
 * plain JavaScript value can be reported at `file:line:col`.
 */
export interface YamlSource {
  readonly file: string;
  readonly value: unknown;
  /** YAML syntax problems; when non-empty, `value` may be incomplete. */
  readonly syntaxProblems: ConfigProblem[];
  /** Keys given twice in one map (the later value wins in `value`). */
  readonly duplicateKeyProblems: ConfigProblem[];
  /** The position of the value at `path`, or of the nearest ancestor that exists. */
  locate(path: readonly PropertyKey[]): { line: number; col: number };
  /** The position of a key (rather than its value) inside the map at `mapPath`. */
  locateKey(mapPath: readonly PropertyKey[], key: string): { line: number; col: number };
  problem(path: readonly PropertyKey[], message: string, at?: { line: number; col: number }): ConfigProblem;
}

export function parseYamlSource(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  // uniqueKeys off: duplicates are reported below with a message naming the first occurrence.
  const document = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  const position = (offset: number): { line: number; col: number } => lineCounter.linePos(offset);

  const syntaxProblems: ConfigProblem[] = document.errors.map((error) => ({
    file,
    ...position(error.pos[0]),
    path: '',
    message: `YAML syntax: ${firstLine(error.message)}`,
  }));

  const nodeAt = (path: readonly PropertyKey[]): Node | undefined => {
    for (let length = path.length; length >= 0; length -= 1) {
      const node = document.getIn(path.slice(0, length), true);
      if (node && typeof node === 'object' && 'range' in node) return node as Node;
    }
    return undefined;
  };

  const locate = (path: readonly PropertyKey[]): { line: number; col: number } => {
    const node = nodeAt(path);
    // A missing key is reported at its parent map's key, which is where a person will add it.
    if (node && path.length > 0 && document.getIn(path, true) === undefined) {
      const parentPath = path.slice(0, -1);
      const parentKey = parentPath[parentPath.length - 1];
      if (parentKey !== undefined) {
        const keyNode = keyNodeIn(document, parentPath.slice(0, -1), String(parentKey));
        if (keyNode?.range) return position(keyNode.range[0]);
      }
    }
    return node?.range ? position(node.range[0]) : { line: 1, col: 1 };
  };

  const locateKey = (mapPath: readonly PropertyKey[], key: string): { line: number; col: number } => {
    const keyNode = keyNodeIn(document, mapPath, key);
    return keyNode?.range ? position(keyNode.range[0]) : locate(mapPath);
  };

  return {
    file,
    value: document.toJS({ maxAliasCount: 100 }) as unknown,
    syntaxProblems,
    duplicateKeyProblems: findDuplicateKeys(document, file, position),
    locate,
    locateKey,
    problem: (path, message, at) => ({ file, ...(at ?? locate(path)), path: formatPath(path), message }),
  };
}

function keyNodeIn(document: Document, mapPath: readonly PropertyKey[], key: string): Node | undefined {
  const map = mapPath.length === 0 ? document.contents : document.getIn(mapPath, true);
  if (!isMap(map)) return undefined;
  for (const pair of map.items) {
    if (isScalar(pair.key) && String(pair.key.value) === key) return pair.key;
  }
  return undefined;
}

function findDuplicateKeys(document: Document, file: string, position: (offset: number) => { line: number; col: number }): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const visit = (node: unknown, path: PropertyKey[]): void => {
    if (isMap(node)) {
      const seen = new Map<string, number>();
      for (const pair of node.items) {
        if (!isPair(pair) || !isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        const offset = pair.key.range?.[0] ?? 0;
        const first = seen.get(key);
        if (first === undefined) seen.set(key, offset);
        else {
          const what = path.length === 1 && path[0] === 'jobs' ? 'job name' : path.length === 1 && path[0] === 'tenants' ? 'tenant name' : 'key';
          problems.push({
            file,
            ...position(offset),
            path: formatPath([...path, key]),
            message: `duplicate ${what} '${key}' (first defined at line ${position(first).line})`,
          });
        }
        visit(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => visit(item, [...path, index]));
    }
  };
  visit(document.contents, []);
  return problems;
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
