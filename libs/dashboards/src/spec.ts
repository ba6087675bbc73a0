// A dashboard as data: what each panel shows and its PromQL. grafana.ts turns it into Grafana
// JSON; the same data gives the list of expressions tests run against a real Prometheus.

export interface Query {
  readonly expr: string;
  /** Grafana legend template, e.g. `{{department}}`. */
  readonly legend: string;
}

export interface PanelSpec {
  readonly title: string;
  readonly description: string;
  readonly kind: 'timeseries' | 'stat' | 'bargauge' | 'table';
  /** Grafana unit id: `short`, `s`, `percentunit`, `currencyEUR`, ... */
  readonly unit: string;
  readonly queries: readonly Query[];
  /** Grid columns out of 24 (default 12). */
  readonly width?: number;
  /** Colour steps: the first applies from -∞, each next one from its value up. */
  readonly thresholds?: ReadonlyArray<{ readonly from: number | null; readonly color: string }>;
}

/** Dashboard variables the queries may use; each filters one label. */
export type VariableName = 'tenant' | 'department';

export interface DashboardSpec {
  /** File name under charts/switchboard/dashboards and the Grafana uid suffix. */
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly variables: readonly VariableName[];
  readonly panels: readonly PanelSpec[];
}

export interface BuildOptions {
  /**
   * Adds panels that show single agents. Off by default: staff councils often forbid per-person
   * statistics, so a site must opt in (and run presence with PRESENCE_PER_AGENT_METRICS=true).
   */
  readonly perAgent?: boolean;
}
