/** Loads the API's service/action catalog once per editor mount; failures leave the menus empty. */
import { useEffect, useState } from 'react';

import type { DataSource, ServiceCatalog } from '../datasource';

export function useServiceCatalog(datasource: Pick<DataSource, 'getServiceCatalog'>): ServiceCatalog {
  const [catalog, setCatalog] = useState<ServiceCatalog>([]);
  useEffect(() => {
    let live = true;
    datasource.getServiceCatalog().then(
      (c) => live && setCatalog(c),
      () => live && setCatalog([]),
    );
    return () => {
      live = false;
    };
  }, [datasource]);
  return catalog;
}
