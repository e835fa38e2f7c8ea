import { bindingError } from './cmdlet-error.js';

/** One `Property -op value` comparison of the supported OPATH subset. */
export interface FilterClause {
  property: string;
  operator: 'eq' | 'ne' | 'like' | 'notlike';
  value: string | null;
  /** Compiled once for -like/-notlike. */
  pattern?: RegExp;
}

/** A parsed `-Filter`: comparisons joined by `-and` (parentheses allowed). */
export type Filter = readonly FilterClause[];

const OPERATORS: ReadonlySet<string> = new Set(['eq', 'ne', 'like', 'notlike']);

type Token =
  | { kind: 'op'; value: string; at: number }
  | { kind: 'word'; value: string; at: number }
  | { kind: 'literal'; value: string | null; at: number }
  | { kind: 'paren'; value: '(' | ')'; at: number };

/**
 * Parses the OPATH subset the simulator supports. `filterable` maps lower-case property names to
 * their canonical spelling; anything else is refused the way Exchange refuses it.
 */
export function parseFilter(text: string, filterable: ReadonlyMap<string, string>): Filter {
  const tokens = tokenize(text);
  const clauses: FilterClause[] = [];
  let depth = 0;
  let i = 0;
  function fail(at: number): never {
    throw invalidSyntax(text, at);
  }
  let expectClause = true;
  while (i < tokens.length) {
    const token = tokens[i];
    if (!token) break;
    if (expectClause) {
      if (token.kind === 'paren' && token.value === '(') {
        depth++;
        i++;
        continue;
      }
      const op = tokens[i + 1];
      const value = tokens[i + 2];
      if (token.kind !== 'word') fail(token.at);
      if (op?.kind !== 'op' || !OPERATORS.has(op.value)) fail(op?.at ?? text.length);
      if (value?.kind !== 'literal') fail(value?.at ?? text.length);
      const property = filterable.get(token.value.toLowerCase());
      if (!property) throw unknownProperty(token.value);
      const operator = op.value as FilterClause['operator'];
      const like = (operator === 'like' || operator === 'notlike') && value.value !== null;
      clauses.push({ property, operator, value: value.value, ...(like ? { pattern: wildcard(value.value ?? '') } : {}) });
      i += 3;
      expectClause = false;
    } else if (token.kind === 'paren' && token.value === ')') {
      if (--depth < 0) fail(token.at);
      i++;
    } else if (token.kind === 'op' && token.value === 'and') {
      expectClause = true;
      i++;
    } else {
      fail(token.at);
    }
  }
  if (expectClause || depth !== 0) fail(text.length);
  return clauses;
}

export function matchesFilter(filter: Filter, object: Readonly<Record<string, unknown>>): boolean {
  return filter.every((clause) => matchesClause(clause, object[clause.property]));
}

function matchesClause(clause: FilterClause, actual: unknown): boolean {
  const values = Array.isArray(actual) ? (actual as unknown[]) : [actual];
  const test = (value: unknown): boolean => {
    if (clause.value === null) return value === null || value === undefined || value === '';
    if (value === null || value === undefined) return false;
    const text = typeof value === 'boolean' ? (value ? 'True' : 'False') : typeof value === 'string' ? value : JSON.stringify(value);
    return clause.operator === 'eq' || clause.operator === 'ne'
      ? text.toLowerCase() === clause.value.toLowerCase()
      : (clause.pattern ?? wildcard(clause.value)).test(text);
  };
  const any = values.length === 0 ? test(null) : values.some(test);
  return clause.operator === 'eq' || clause.operator === 'like' ? any : !any;
}

function wildcard(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`, 'is');
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text.charAt(i);
    if (/\s/.test(char)) {
      i++;
    } else if (char === '(' || char === ')') {
      tokens.push({ kind: 'paren', value: char, at: i++ });
    } else if (char === '-') {
      const match = /^-([A-Za-z]+)/.exec(text.slice(i));
      if (!match?.[1]) throw invalidSyntax(text, i);
      tokens.push({ kind: 'op', value: match[1].toLowerCase(), at: i });
      i += match[0].length;
    } else if (char === "'" || char === '"') {
      const start = i;
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw invalidSyntax(text, start);
        const c = text.charAt(i);
        if (c === char && text.charAt(i + 1) === char) {
          value += char;
          i += 2;
        } else if (c === char) {
          i++;
          break;
        } else {
          value += c;
          i++;
        }
      }
      tokens.push({ kind: 'literal', value, at: start });
    } else if (char === '$') {
      const match = /^\$(true|false|null)\b/i.exec(text.slice(i));
      if (!match?.[1]) throw invalidSyntax(text, i);
      const word = match[1].toLowerCase();
      tokens.push({ kind: 'literal', value: word === 'null' ? null : word === 'true' ? 'True' : 'False', at: i });
      i += match[0].length;
    } else {
      const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
      if (!match) throw invalidSyntax(text, i);
      tokens.push({ kind: 'word', value: match[0], at: i });
      i += match[0].length;
    }
  }
  return tokens;
}

function invalidSyntax(text: string, position: number) {
  return bindingError(
    `Cannot bind parameter 'Filter' to the target. Exception setting "Filter": "Invalid filter syntax. For a description of the filter parameter syntax see the command help.\r\n"${text}" at position ${position + 1}."`,
  );
}

function unknownProperty(property: string) {
  return bindingError(
    `Cannot bind parameter 'Filter' to the target. Exception setting "Filter": ""${property}" is not a recognized filterable property. For a description of the filter parameter syntax see the command help.\r\n"${property}" at position 1."`,
  );
}
