/**
 * Reads the provisioning files the way Grafana does: YAML/JSON parsed, and the fields Grafana runs
 * through environment expansion (pkg/services/provisioning/values: `$$` is a literal `$`, `$NAME`
 * and `${NAME}` are os.ExpandEnv) expanded with a given environment.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

export const ROOT = path.resolve(__dirname, '../../..');
export const PROVISIONING = path.join(ROOT, 'provisioning');

export interface Uids {
  datasources: { postgres: string; api: string };
  dashboards: { overview: string; serviceDetail: string; apiViews: string };
  folder: string;
  contactPoints: { page: string; ticket: string };
  alertRules: Record<string, string>;
  pluginId: string;
  postgresType: string;
}

export const readJson = <T = any>(rel: string): T => JSON.parse(fs.readFileSync(path.join(PROVISIONING, rel), 'utf8')) as T;
export const readYaml = <T = any>(rel: string): T => YAML.parse(fs.readFileSync(path.join(PROVISIONING, rel), 'utf8')) as T;
export const listFiles = (dir: string, ext: string) =>
  fs
    .readdirSync(path.join(PROVISIONING, dir))
    .filter((f) => f.endsWith(ext))
    .sort()
    .map((f) => `${dir}/${f}`);

export const uids = (): Uids => readJson<Uids>('uids.json');

/** Go's os.Expand with os.Getenv semantics over `env` (shell-style names, `${…}`, special one-char names). */
export function goExpandEnv(s: string, env: Record<string, string | undefined>): string {
  let out = '';
  let i = 0;
  while (i < s.length) {
    if (s[i] !== '$' || i + 1 >= s.length) {
      out += s[i++];
      continue;
    }
    const rest = s.slice(i + 1);
    let name = '';
    let w = 0;
    if (rest[0] === '{') {
      const end = rest.indexOf('}');
      if (rest.length > 1 && /[*#$@!?\-0-9]/.test(rest[1]) && rest[2] === '}') {
        name = rest[1];
        w = 3;
      } else if (end <= 1) {
        w = end === 1 ? 2 : 1; // "${}" is eaten (bad syntax); an unterminated "${" eats the brace
        name = '';
      } else {
        name = rest.slice(1, end);
        w = end + 1;
      }
    } else if (/[*#$@!?\-0-9]/.test(rest[0])) {
      name = rest[0];
      w = 1;
    } else {
      const m = /^[A-Za-z0-9_]+/.exec(rest);
      name = m ? m[0] : '';
      w = name.length;
    }
    if (name === '' && w > 0) {
      // invalid syntax: Go eats the characters
    } else if (name === '') {
      out += '$'; // "$" not followed by a name stays
    } else {
      out += env[name] ?? '';
    }
    i += 1 + w;
  }
  return out;
}

/** pkg/services/provisioning/values interpolateValue: split on `$$`, expand each part, join with `$`. */
export function grafanaInterpolate(value: string, env: Record<string, string | undefined>): string {
  return value
    .split('$$')
    .map((part) => goExpandEnv(part, env))
    .join('$');
}

/** Every `{type, uid}` data source reference anywhere in a JSON value. */
export function datasourceRefs(value: unknown, where = ''): Array<{ uid: string; type?: string; where: string }> {
  const out: Array<{ uid: string; type?: string; where: string }> = [];
  const walk = (v: unknown, at: string) => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`));
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (k === 'datasource' && x && typeof x === 'object' && 'uid' in (x as object)) {
          const ref = x as { uid: string; type?: string };
          out.push({ uid: ref.uid, type: ref.type, where: `${at}.datasource` });
        }
        walk(x, `${at}.${k}`);
      }
    }
  };
  walk(value, where);
  return out;
}

/**
 * A dashboard as Grafana runs it once its data-source variables have resolved: every
 * `${ds_…}` reference replaced by the variable's current value (the provisioned uid). Panels name
 * their data source only through these variables, so the dashboards import anywhere.
 */
export function resolveDatasourceVariables<T = any>(dashboard: T): T {
  const vars: Array<{ type: string; name: string; current?: { value?: string } }> = (dashboard as any).templating?.list ?? [];
  let text = JSON.stringify(dashboard);
  for (const v of vars.filter((x) => x.type === 'datasource')) text = text.split(`\${${v.name}}`).join(v.current?.value ?? '');
  return JSON.parse(text) as T;
}
