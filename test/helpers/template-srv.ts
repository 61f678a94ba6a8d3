/**
 * A stand-in for Grafana's frontend template service, following its replace rules for `$var`,
 * `${var}`, `${var:fmt}`, `[[var]]` (public/app/features/templating/template_srv.ts, `replace` /
 * `_replaceWithVariableRegex`): scoped vars win; multi-value and All hand the format function an
 * array of values (All = every option, so `[]` when the variable has no options); All with a
 * custom all value returns that value raw — re-interpolated, never passed to the format function
 * ("skip formatting of custom all values"; Scenes does the same through CustomAllValue.formatter
 * in packages/scenes/src/variables/variants/MultiValueVariable.ts). Unknown names stay as written.
 *
 * Only type imports from Grafana's packages, so both the jsdom plugin tests (test/plugin/helpers.ts
 * installs it with setTemplateSrv) and node tests (which hand it to a mocked getTemplateSrv) use it.
 */
import type { ScopedVars } from '@grafana/data';
import type { TemplateSrv } from '@grafana/runtime';

export interface TestVariable {
  name: string;
  /** Selected value(s); `['$__all']` means All. */
  current: string | string[];
  options: string[];
  allValue?: string;
}

export class GrafanaTemplateSrv implements Partial<TemplateSrv> {
  constructor(private readonly vars: TestVariable[] = []) {}

  getVariables() {
    return this.vars.map((v) => ({ name: v.name, type: 'query', label: v.name })) as unknown as ReturnType<TemplateSrv['getVariables']>;
  }

  containsTemplate(target?: string) {
    return Boolean(target && /\$\w+|\$\{\w+|\[\[\w+/.test(target));
  }

  updateTimeRange() {}

  replace(target?: string, scopedVars?: ScopedVars, format?: string | ((value: unknown, variable: unknown) => string)): string {
    if (!target) {
      return target ?? '';
    }
    return target.replace(/\$(\w+)|\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)\]\]/g, (match, a, b, _fmt, c) => {
      const name: string = a ?? b ?? c;
      const scoped = scopedVars?.[name];
      const variable = this.vars.find((v) => v.name === name);
      let value: unknown;
      if (scoped) {
        value = scoped.value;
      } else if (variable) {
        const cur = variable.current;
        // template_srv.ts isAllValue: the value, or the first of the values, is `$__all`.
        const isAll = cur === '$__all' || (Array.isArray(cur) && cur[0] === '$__all');
        if (isAll && variable.allValue) {
          return this.replace(variable.allValue);
        }
        value = isAll ? variable.options : cur;
      } else {
        return match;
      }
      if (typeof format === 'function') {
        return format(value, variable);
      }
      return Array.isArray(value) ? (value.length > 1 ? `{${value.join(',')}}` : String(value[0] ?? '')) : String(value);
    });
  }
}
