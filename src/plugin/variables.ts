/**
 * Variable support (services, actions) through Grafana's custom variable API: the editor edits a
 * `VariableQuery`; the values come from the same lookup as `metricFindQuery`.
 */
import { CustomVariableSupport, DataQueryRequest, DataQueryResponse } from '@grafana/data';
import { from, map, Observable } from 'rxjs';

import { VariableQueryEditor } from './components/VariableQueryEditor';
import type { DataSource } from './datasource';
import { namesFrame } from './frames';
import type { IntmonOptions, IntmonQuery, VariableQuery } from './types';

export class IntmonVariableSupport extends CustomVariableSupport<DataSource, VariableQuery, IntmonQuery, IntmonOptions> {
  editor = VariableQueryEditor;

  constructor(private readonly datasource: DataSource) {
    super();
  }

  query(request: DataQueryRequest<VariableQuery>): Observable<DataQueryResponse> {
    const target = request.targets[0] ?? { refId: 'variable', kind: 'services' };
    return from(this.datasource.metricFindQuery(target, { scopedVars: request.scopedVars })).pipe(
      map((values) => ({
        data: [
          namesFrame(
            values.map((v) => String(v.text)),
            target.refId,
          ),
        ],
      })),
    );
  }
}
