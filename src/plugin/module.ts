/** Entry point Grafana loads (dist/module.js): the plugin and its editors. */
import { DataSourcePlugin } from '@grafana/data';

import { ConfigEditor } from './components/ConfigEditor';
import { QueryEditor } from './components/QueryEditor';
import { DataSource } from './datasource';
import type { IntmonOptions, IntmonQuery, IntmonSecureOptions } from './types';

export const plugin = new DataSourcePlugin<DataSource, IntmonQuery, IntmonOptions, IntmonSecureOptions>(DataSource).setConfigEditor(ConfigEditor).setQueryEditor(QueryEditor);
