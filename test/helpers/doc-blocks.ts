/**
 * The TypeScript examples of a Markdown document, so tests can compile and run them as written.
 * A block may be preceded by `<!-- doc-check: <kind> [name] -->`: `node` (the default) is
 * type-checked against the packed SDK, `deno` blocks are run by Deno (test/recorder/deno.test.ts),
 * `skip` says why a block is not an SDK program (repository code, a shape).
 */
import fs from 'node:fs';

export interface DocBlock {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  kind: string;
  name: string;
  code: string;
}

const FENCE = /^```(\w*)\s*$/;
const MARK = /^<!--\s*doc-check:\s*(\w+)\s*([\w-]*)[^>]*-->\s*$/;

export function tsBlocks(file: string): DocBlock[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const out: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]);
    if (!open) continue;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++;
    if (open[1] === 'ts' || open[1] === 'typescript') {
      const mark = i > 0 ? MARK.exec(lines[i - 1]) : null;
      out.push({ file, line: i + 1, kind: mark?.[1] ?? 'node', name: mark?.[2] ?? '', code: lines.slice(i + 1, end).join('\n') + '\n' });
    }
    i = end;
  }
  return out;
}
