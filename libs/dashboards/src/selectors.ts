// Label filters from the dashboard variables. "All" is `.*` (the variables' allValue), so the
// same expression works for one, several or every tenant/department.
export const TENANT = 'tenant=~"$tenant"';
export const DEPARTMENT = 'department=~"$department"';
export const TENANT_DEPARTMENT = `${TENANT},${DEPARTMENT}`;

/** Grafana's range variables; `substitute` replaces them for queries run outside Grafana. */
export const RATE_INTERVAL = '$__rate_interval';
export const RANGE = '$__range';

export interface Substitutions {
  /** For `$__rate_interval` (Grafana picks ≥ 4 scrape intervals); default `1m`. */
  readonly rateInterval?: string;
  /** For `$__range`, the dashboard's time range; default `1h`. */
  readonly range?: string;
  /** For `$tenant` / `$department`; default `.*` (all). */
  readonly tenant?: string;
  readonly department?: string;
}

/** The expression as Prometheus itself would run it, with every dashboard variable replaced. */
export function substitute(expr: string, values: Substitutions = {}): string {
  return expr
    .replaceAll('$__rate_interval', values.rateInterval ?? '1m')
    .replaceAll('$__range', values.range ?? '1h')
    .replaceAll('$tenant', values.tenant ?? '.*')
    .replaceAll('$department', values.department ?? '.*');
}
