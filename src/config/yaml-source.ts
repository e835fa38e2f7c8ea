import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Alias, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { clip, formatPath, type ConfigProblem } from './problems.js';

/**
 * A parsed YAML file that remembers where every value came from, so schema problems found on the
 * plain JavaScript value can be reported at `file:line:col`.
 */
export interface YamlSource {
  readonly file: string;
  readonly value: unknown;
  /**
   * Problems that leave the structure unreliable: YAML syntax, aliases without an anchor or that
   * contain themselves, aliases that expand too far. When non-empty, `value` is undefined.
   */
  readonly syntaxProblems: ConfigProblem[];
  /** Keys given twice in one map (the later value wins in `value`). */
  readonly duplicateKeyProblems: ConfigProblem[];
  /** What yaml itself warns about (an unknown tag such as `!foo`, read as plain text). */
  readonly yamlWarnings: ConfigProblem[];
  /**
   * The position of the value at `path` — following aliases and merge keys (`<<: *defaults`) to
   * where the value is written — or of the nearest ancestor that exists.
   */
  locate(path: readonly PropertyKey[]): Position;
  /** The position of a key (rather than its value) inside the map at `mapPath`. */
  locateKey(mapPath: readonly PropertyKey[], key: string): Position;
  problem(path: readonly PropertyKey[], message: string, at?: Position): ConfigProblem;
}

export interface Position {
  line: number;
  col: number;
}

/**
 * Aliases may share a value many times over without copying it, and every later step (schema,
 * checks, hashing) walks the shared value once per use: a few lines of nested aliases ("billion
 * laughs") would expand to billions of values. A real jobs.yaml — even 10,000 jobs each merging a
 * defaults map — stays far below this many values.
 */
export const MAX_EXPANDED_VALUES = 2_000_000;

export function parseYamlSource(text: string, file: string): YamlSource {
  try {
    return readYaml(text, file);
  } catch (error) {
    // The parser and the checks recurse per nesting level; a pathological file can exhaust the
    // stack. Whatever happens, the answer is a problem, never a crash.
    return brokenSource(file, [{ file, line: 1, col: 1, path: '', message: `cannot be read as YAML: ${syntaxMessage(errorMessage(error))}` }]);
  }
}

function readYaml(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  const position = (offset: number): Position => lineCounter.linePos(offset);
  const problemAt = (offset: number, path: readonly PropertyKey[], message: string): ConfigProblem => ({
    file,
    ...position(offset),
    path: formatPath(path),
    message,
  });

  // uniqueKeys off: duplicates are reported below with a message naming the first occurrence.
  // merge on: `<<: *defaults` is the usual way to share settings between jobs.
  const document = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false, merge: true });

  const { aliasProblems, duplicateKeyProblems, targets } = inspectNodes(document, problemAt, position, text);
  // An alias-looking value (`*/15 * * * *`) also trips syntax errors further along its line; the
  // alias problem says what happened, so those are left out.
  const aliasLines = new Set(aliasProblems.map((problem) => problem.line));
  const syntaxProblems: ConfigProblem[] = [
    ...aliasProblems,
    ...document.errors
      .map((error) => ({ file, ...position(error.pos[0]), path: '', message: `YAML syntax: ${syntaxMessage(error.message)}` }))
      .filter((problem) => !aliasLines.has(problem.line)),
  ];
  if (syntaxProblems.length > 0) return brokenSource(file, fewSyntaxProblems(syntaxProblems));

  // Expansion was bounded above; yaml's own alias limit counts differently and would refuse
  // ordinary files that use an anchor more than 100 times.
  const value: unknown = document.toJS({ maxAliasCount: -1 });

  const resolve = (node: unknown): unknown => (isAlias(node) ? targets.get(node) : node);

  /** Each step of `path`: the value node reached and the key node that named it. */
  const walk = (path: readonly PropertyKey[]): { value: Node | null | undefined; key: Node | undefined }[] => {
    const steps: { value: Node | null | undefined; key: Node | undefined }[] = [{ value: document.contents, key: undefined }];
    let current: unknown = document.contents;
    for (const segment of path) {
      const found = childOf(resolve(current), segment, resolve);
      if (!found) break;
      steps.push(found);
      current = found.value;
    }
    return steps;
  };

  const locate = (path: readonly PropertyKey[]): Position => {
    const steps = walk(path);
    const last = steps[steps.length - 1];
    // A missing key is reported at its parent map's key, which is where a person will add it.
    if (steps.length === path.length && path.length > 0) {
      const parentKey = last?.key;
      if (parentKey?.range) return position(parentKey.range[0]);
    }
    for (let index = steps.length - 1; index >= 0; index -= 1) {
      const step = steps[index];
      const node = step?.value?.range ? step.value : step?.key;
      if (node?.range) return position(node.range[0]);
    }
    return { line: 1, col: 1 };
  };

  const locateKey = (mapPath: readonly PropertyKey[], key: string): Position => {
    const steps = walk([...mapPath, key]);
    const keyNode = steps.length === mapPath.length + 2 ? steps[steps.length - 1]?.key : undefined;
    return keyNode?.range ? position(keyNode.range[0]) : locate(mapPath);
  };

  return {
    file,
    value,
    syntaxProblems: [],
    duplicateKeyProblems,
    yamlWarnings: document.warnings.map((warning) => ({ file, ...position(warning.pos[0]), path: '', message: `YAML: ${firstLine(warning.message)}` })),
    locate,
    locateKey,
    problem: (path, message, at) => ({ file, ...(at ?? locate(path)), path: formatPath(path), message }),
  };
}

function brokenSource(file: string, problems: ConfigProblem[]): YamlSource {
  const start = { line: 1, col: 1 };
  return {
    file,
    value: undefined,
    syntaxProblems: problems,
    duplicateKeyProblems: [],
    yamlWarnings: [],
    locate: () => start,
    locateKey: () => start,
    problem: (path, message, at) => ({ file, ...(at ?? start), path: formatPath(path), message }),
  };
}

/**
 * Keys of each map looked into, so locating a problem in a map of 10,000 jobs is a lookup rather
 * than a scan (a file can have a warning per job). With a key given twice the later one wins, as
 * in the value.
 */
const keyIndexes = new WeakMap<YAMLMap, Map<string, Pair>>();

function keyIndex(map: YAMLMap): Map<string, Pair> {
  let index = keyIndexes.get(map);
  if (!index) {
    index = new Map();
    for (const pair of map.items) if (isScalar(pair.key) && !isMergeKey(pair)) index.set(String(pair.key.value), pair);
    keyIndexes.set(map, index);
  }
  return index;
}

/** The child of a map (explicit key first, then merged maps in order) or of a list. */
function childOf(node: unknown, segment: PropertyKey, resolve: (node: unknown) => unknown): { value: Node | null; key: Node | undefined } | undefined {
  if (isMap(node)) {
    const pair = keyIndex(node).get(String(segment));
    if (pair) return { value: (pair.value as Node | null) ?? null, key: pair.key as Node };
    for (const pair of node.items) {
      if (!isMergeKey(pair)) continue;
      const source = resolve(pair.value);
      const sources = isSeq(source) ? source.items.map(resolve) : [source];
      for (const merged of sources) {
        const found = childOf(merged, segment, resolve);
        if (found) return found;
      }
    }
    return undefined;
  }
  if (isSeq(node) && typeof segment === 'number') {
    const item = node.items[segment];
    return item === undefined ? undefined : { value: item as Node | null, key: undefined };
  }
  return undefined;
}

function isMergeKey(pair: Pair): boolean {
  return isScalar(pair.key) && typeof pair.key.value === 'symbol';
}

/**
 * One walk over the document, in reading order, for what must be known before the value is built:
 * - aliases that refer to no anchor before them, that sit inside the value they refer to, or that
 *   make the file expand past {@link MAX_EXPANDED_VALUES} — each would make yaml throw (or build a
 *   cycle, or exhaust memory), so they are reported at the alias instead;
 * - merge keys whose value cannot be merged;
 * - keys given twice in one map;
 * - what each alias refers to, for locating values through aliases.
 * The path is one stack pushed and popped as the walk goes; it is copied only for a problem.
 */
function inspectNodes(
  document: Document,
  problemAt: (offset: number, path: readonly PropertyKey[], message: string) => ConfigProblem,
  position: (offset: number) => Position,
  text: string,
): { aliasProblems: ConfigProblem[]; duplicateKeyProblems: ConfigProblem[]; targets: Map<Node, Node> } {
  const aliasProblems: ConfigProblem[] = [];
  const duplicateKeyProblems: ConfigProblem[] = [];
  const targets = new Map<Node, Node>();
  const anchors = new Map<string, Node>();
  /** Values each finished anchored node expands to, aliases counted as what they refer to. */
  const sizes = new Map<Node, number>();
  const open = new Set<Node>();
  const path: PropertyKey[] = [];
  let total = 0;
  let bombReported = false;

  const visitAlias = (node: Alias): number => {
    const offset = node.range?.[0] ?? 0;
    const target = anchors.get(node.source);
    if (!target) {
      aliasProblems.push(problemAt(offset, [...path], unresolvedAliasMessage(node.source, text, offset)));
      return 1;
    }
    if (open.has(target)) {
      const name = clip(node.source);
      aliasProblems.push(problemAt(offset, [...path], `alias *${name} is inside the value it refers to (&${name}), which would make it endless`));
      return 1;
    }
    targets.set(node, target);
    const size = sizes.get(target) ?? 1;
    total += size;
    if (total > MAX_EXPANDED_VALUES && !bombReported) {
      bombReported = true;
      aliasProblems.push(
        problemAt(
          offset,
          [...path],
          `aliases expand this file to more than ${MAX_EXPANDED_VALUES.toLocaleString('en-US')} values (nested aliases, as in a "billion laughs" file); write the values out or nest aliases less`,
        ),
      );
    }
    return size;
  };

  const visitMap = (node: YAMLMap): number => {
    let size = 0;
    const seen = new Map<string, number>();
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      size += visit(keyNode);
      if (isMergeKey(pair)) {
        size += visit(pair.value);
        if (!isMergeSource(pair.value, anchors)) {
          const at = (pair.value as Node | null)?.range?.[0] ?? keyNode?.range?.[0] ?? 0;
          aliasProblems.push(problemAt(at, [...path], '<< (merge) takes a map or an alias of one, such as <<: *defaults, or a list of them'));
        }
        continue;
      }
      const key = isScalar(keyNode) ? keyNode.value : undefined;
      if (typeof key === 'string' || typeof key === 'number') {
        const name = String(key);
        const offset = keyNode?.range?.[0] ?? 0;
        const first = seen.get(name);
        if (first === undefined) seen.set(name, offset);
        else {
          duplicateKeyProblems.push(problemAt(offset, [...path, name], `duplicate ${keyKind(path)} '${name}' (first defined at line ${position(first).line})`));
        }
        // As a string, as in the built value: a job named 123 is the key '123'.
        path.push(name);
        size += visit(pair.value);
        path.pop();
      } else {
        size += visit(pair.value);
      }
    }
    return size;
  };

  const visit = (node: unknown): number => {
    if (isAlias(node)) return visitAlias(node);
    if (!node || typeof node !== 'object') return 0;
    const current = node as Node & { anchor?: string };
    // As in yaml: an alias refers to the last anchor of its name before it, in reading order.
    if (typeof current.anchor === 'string') anchors.set(current.anchor, current);
    total += 1;
    open.add(current);
    let size = 1;
    if (isMap(node)) size += visitMap(node);
    else if (isSeq(node)) {
      for (let index = 0; index < node.items.length; index += 1) {
        path.push(index);
        size += visit(node.items[index]);
        path.pop();
      }
    }
    open.delete(current);
    if (typeof current.anchor === 'string') sizes.set(current, size);
    return size;
  };
  visit(document.contents);
  return { aliasProblems, duplicateKeyProblems, targets };
}

function keyKind(mapPath: readonly PropertyKey[]): string {
  if (mapPath.length === 1 && mapPath[0] === 'jobs') return 'job name';
  if (mapPath.length === 1 && mapPath[0] === 'tenants') return 'tenant name';
  return 'key';
}

/** What yaml can merge: a map, an alias of one, or a list of those. */
function isMergeSource(value: unknown, anchors: ReadonlyMap<string, Node>): boolean {
  const resolve = (node: unknown): unknown => (isAlias(node) ? anchors.get(node.source) : node);
  const source = resolve(value);
  if (isSeq(source)) return source.items.every((item) => isMap(resolve(item)));
  return isMap(source);
}

/**
 * An unquoted cron schedule starting with `*` (every 15 minutes: `*` `/15 * * * *`) is the usual
 * way to meet this: YAML reads a value starting with `*` as an alias. Say so, with the text to
 * write instead.
 */
function unresolvedAliasMessage(source: string, text: string, offset: number): string {
  const lineEnd = text.indexOf('\n', offset);
  const written = text
    .slice(offset, lineEnd < 0 ? undefined : lineEnd)
    .replace(/\s+#.*$/, '')
    .trim();
  if (/^[/\d,*-]/.test(source)) {
    return `'${clip(written)}' starts with '*', which YAML reads as an alias (a reference to an &anchor); put the value in quotes: "${clip(written)}"`;
  }
  return `alias *${clip(source)} refers to no anchor: define &${clip(source)} on a value before this line`;
}

const MAX_SYNTAX_PROBLEMS = 20;
const NESTED_TOO_DEEPLY = 'the file is nested too deeply to read';

/**
 * yaml reports some mistakes once per nesting level or per following token; a person needs the
 * first few. The same message is kept once, and the list is cut after {@link MAX_SYNTAX_PROBLEMS}.
 */
function fewSyntaxProblems(problems: readonly ConfigProblem[]): ConfigProblem[] {
  // Past the nesting limit the parser gives up; what it says after that is noise.
  const tooDeep = problems.find((problem) => problem.message.endsWith(NESTED_TOO_DEEPLY));
  if (tooDeep) return [tooDeep];
  const seen = new Set<string>();
  const unique = problems.filter((problem) => {
    if (seen.has(problem.message)) return false;
    seen.add(problem.message);
    return true;
  });
  if (unique.length <= MAX_SYNTAX_PROBLEMS) return unique;
  const kept = unique.slice(0, MAX_SYNTAX_PROBLEMS);
  const last = kept[kept.length - 1] as ConfigProblem;
  return [...kept, { ...last, message: `and ${unique.length - MAX_SYNTAX_PROBLEMS} more YAML syntax problems after this one` }];
}

function syntaxMessage(message: string): string {
  // yaml reports its own stack overflow as a syntax error.
  if (/Maximum call stack/i.test(message)) return NESTED_TOO_DEEPLY;
  if (/multiple documents/i.test(message)) return 'the file holds more than one YAML document (a second ---); jobs.yaml is one document';
  return firstLine(message);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
