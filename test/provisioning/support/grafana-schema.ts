/**
 * What a given @grafana/schema release declares for a panel type: the property names of its
 * panel `Options` and field-config `FieldConfig` interfaces, read from the release's generated
 * type declarations (dist/esm/raw/composable/<panel>/panelcfg/x/*_types.gen.d.ts, and
 * dist/esm/common/common.gen.d.ts for the `common.*` interfaces they extend). Used to check that
 * the provisioned dashboards only set options the oldest supported Grafana knows.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Top-level property names of `interface name` in `src`, plus the names it extends. */
function readInterface(src: string, name: string): { keys: string[]; bases: string[] } | undefined {
  const head = new RegExp(`export interface ${name}(?:<[^>]*>)?(?:\\s+extends\\s+([^{]+))?\\s*\\{`).exec(src);
  if (!head) return undefined;
  const keys: string[] = [];
  let depth = 1;
  let i = head.index + head[0].length;
  let line = '';
  for (; i < src.length && depth > 0; i++) {
    const ch = src[i];
    if (ch === '{') depth++;
    else if (ch === '}') depth--;
    if (ch === '\n') {
      const m = /^\s*(?:readonly\s+)?['"]?([A-Za-z_$][\w$]*)['"]?\??:/.exec(line);
      if (m && line.startsWith('    ') && !line.startsWith('     ')) keys.push(m[1]);
      line = '';
    } else if (depth === 1 || ch !== '}') line += ch;
  }
  const bases = (head[1] ?? '')
    .split(',')
    .map((b) => b.trim().replace(/<.*$/, ''))
    .filter(Boolean);
  return { keys, bases };
}

/** The declarations directory: dist/esm up to 12.x, dist/types in 13.x. */
function typesRoot(schemaPkgDir: string): string {
  const dir = ['types', 'esm'].map((d) => path.join(schemaPkgDir, 'dist', d)).find((d) => fs.existsSync(path.join(d, 'common', 'common.gen.d.ts')));
  if (!dir) throw new Error(`no common.gen.d.ts in ${schemaPkgDir}`);
  return dir;
}

export function declaredKeys(schemaPkgDir: string, panel: string, iface: 'Options' | 'FieldConfig'): Set<string> {
  const root = typesRoot(schemaPkgDir);
  const dir = path.join(root, 'raw', 'composable', panel, 'panelcfg', 'x');
  const file = fs.readdirSync(dir).find((f) => f.endsWith('types.gen.d.ts')); // <Panel>_types.gen.d.ts up to 12.x, types.gen.d.ts in 13.x
  if (!file) throw new Error(`no panel config types for ${panel} in ${dir}`);
  const local = fs.readFileSync(path.join(dir, file), 'utf8');
  const common = fs.readFileSync(path.join(root, 'common', 'common.gen.d.ts'), 'utf8');
  const out = new Set<string>();
  const visit = (src: string, name: string) => {
    const found = readInterface(src, name);
    if (!found) throw new Error(`interface ${name} not found (${panel})`);
    found.keys.forEach((k) => out.add(k));
    // `common.X` / `ui.X` (the panel files' names for @grafana/schema itself) live in common.gen.d.ts.
    for (const b of found.bases) {
      if (b.includes('.')) visit(common, b.slice(b.indexOf('.') + 1));
      else visit(src, b);
    }
  };
  visit(local, iface);
  return out;
}
