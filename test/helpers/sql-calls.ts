/**
 * Finds the calls of the monitor's SQL functions in SQL text (or in the string literals of a
 * TypeScript file) and checks each against the generated list (src/store/sql-functions.json): the
 * function exists, some overload takes the call's arguments (positional count between its required
 * and total arguments, `name => value` naming one of its arguments), and, where asked, the calling
 * role may execute it. PostgreSQL's own resolution of the same calls is in the tests that run them.
 */
import fs from 'node:fs';
import ts from 'typescript';
import type { SqlFunction } from '../../src/store/sql-signatures';

export interface SqlCall {
  name: string;
  positional: number;
  named: string[];
  /** The call as written (comments and string contents blanked), for messages. */
  text: string;
}

/** Comments and the contents of string literals, quoted identifiers and dollar quotes blanked with spaces. */
export function maskSql(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const rest = sql.slice(i);
    const dollar = /^\$([A-Za-z_]\w*)?\$/.exec(rest);
    let end: number;
    if (rest.startsWith('--')) {
      end = sql.indexOf('\n', i);
      end = end < 0 ? sql.length : end;
      out += ' '.repeat(end - i);
    } else if (rest.startsWith('/*')) {
      end = sql.indexOf('*/', i + 2);
      end = end < 0 ? sql.length : end + 2;
      out += ' '.repeat(end - i);
    } else if (sql[i] === "'" || sql[i] === '"') {
      const q = sql[i];
      end = i + 1;
      while (end < sql.length && !(sql[end] === q && sql[end + 1] !== q)) end += sql[end] === q ? 2 : 1;
      end = Math.min(end + 1, sql.length);
      out += `${q}${' '.repeat(Math.max(0, end - i - 2))}${q}`;
    } else if (dollar && !/^\$\d/.test(rest)) {
      const close = sql.indexOf(dollar[0], i + dollar[0].length);
      end = close < 0 ? sql.length : close + dollar[0].length;
      out += ' '.repeat(end - i);
    } else {
      out += sql[i];
      end = i + 1;
    }
    i = end;
  }
  return out;
}

/** The top-level arguments of the call whose `(` is at `open`, and the index after its `)`. */
function splitArguments(text: string, open: number): { args: string[]; end: number } {
  const args: string[] = [];
  let depth = 0;
  let start = open + 1;
  for (let i = open; i < text.length; i++) {
    const ch = text[i];
    if (ch === '(' || ch === '[') depth++;
    else if (ch === ')' || ch === ']') {
      depth--;
      if (depth === 0) {
        args.push(text.slice(start, i));
        return { args: args.length === 1 && args[0].trim() === '' ? [] : args, end: i + 1 };
      }
    } else if (ch === ',' && depth === 1) {
      args.push(text.slice(start, i));
      start = i + 1;
    }
  }
  throw new Error(`unbalanced parentheses after ${text.slice(Math.max(0, open - 40), open + 40)}`);
}

/** Words after which `name (` is a definition or a column list, not a call. */
const NOT_A_CALL_AFTER = /\b(INTO|TABLE|FUNCTION|PROCEDURE|INDEX|VIEW|TRIGGER|EXISTS|COPY)\s*$/i;

/**
 * Every call of a function with `integration_` in its name. A name qualified by a schema other
 * than `public` (the seed's `seed.`), one after a word that defines something (`CREATE FUNCTION`,
 * `INSERT INTO`), and one of `relations` (a table's column list) is not a call of ours.
 */
export function extractCalls(sql: string, relations: ReadonlySet<string> = new Set()): SqlCall[] {
  const text = maskSql(sql);
  const out: SqlCall[] = [];
  const re = /(?<![\w$"])(?:([\w$]+)\s*\.\s*)?(\w*integration_\w*)\s*\(/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const [whole, schema, name] = m;
    const open = m.index + whole.length - 1;
    if ((schema && schema.toLowerCase() !== 'public') || relations.has(name) || NOT_A_CALL_AFTER.test(text.slice(0, m.index))) continue;
    const { args, end } = splitArguments(text, open);
    const named = args.map((a) => /^\s*(\w+)\s*(=>|:=)/.exec(a)?.[1]).filter((n): n is string => n !== undefined);
    out.push({ name, positional: args.length - named.length, named, text: text.slice(m.index, end).replace(/\s+/g, ' ') });
  }
  return out;
}

/** Why no overload of the call's function takes it (null when one does). */
function arityProblem(call: SqlCall, f: SqlFunction): string | null {
  const args = f.arguments;
  const variadic = args.length > 0 && args[args.length - 1].variadic === true;
  if (call.positional > args.length && !variadic) return `${call.positional} positional arguments, it takes at most ${args.length}`;
  for (const n of call.named) {
    const at = args.findIndex((a) => a.name === n);
    if (at < 0) return `no argument named ${n}`;
    if (at < call.positional) return `${n} is also given by position`;
  }
  const missing = args.filter((a, i) => a.default === null && !a.variadic && i >= call.positional && !call.named.includes(a.name ?? ''));
  if (missing.length > 0) return `${missing.map((a) => a.name ?? '?').join(', ')} not given and without a default`;
  return null;
}

/**
 * What is wrong with each call, one line each (empty: all fine). `role`: the role the consumer runs
 * as (Grafana's `integration_monitor_reader`), which must be allowed to execute the overload.
 */
export function checkCalls(calls: SqlCall[], functions: SqlFunction[], opts: { where: string; role?: string }): string[] {
  const problems: string[] = [];
  for (const call of calls) {
    const overloads = functions.filter((f) => f.name === call.name);
    if (overloads.length === 0) {
      problems.push(`${opts.where}: ${call.text}: no function ${call.name} in the list`);
      continue;
    }
    const fits = overloads.filter((f) => arityProblem(call, f) === null);
    if (fits.length === 0) {
      problems.push(`${opts.where}: ${call.text}: ${overloads.map((f) => `${f.signature}: ${arityProblem(call, f)}`).join('; ')}`);
    } else if (opts.role && !fits.some((f) => f.executableBy.includes(opts.role as string))) {
      problems.push(`${opts.where}: ${call.text}: ${opts.role} may not execute ${fits[0].signature}`);
    }
  }
  return problems;
}

/**
 * The text of every string and template literal of a TypeScript file, each `${…}` standing as `_v_`
 * (one value): where SQL lives in the bench and the server code.
 */
export function stringLiterals(file: string): string[] {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) out.push(node.text);
    else if (ts.isTemplateExpression(node)) out.push(node.head.text + node.templateSpans.map((s) => `_v_${s.literal.text}`).join(''));
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}
