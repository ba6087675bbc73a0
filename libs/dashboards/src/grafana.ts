import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import type { DashboardSpec, PanelSpec, VariableName } from './spec.js';

// Every panel and variable reads from the dashboard's `datasource` variable, so the same JSON
// works whatever the Prometheus data source is called in a given Grafana.
const DATASOURCE: common.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

// Where the variables' values come from: series every tenant with calls or bundles reports.
const VARIABLE_SOURCES: Record<VariableName, string> = {
  tenant: 'label_values(calls_offered_total, tenant)',
  department: 'label_values(calls_offered_total{tenant=~"$tenant"}, department)',
};

type AnyPanelBuilder = timeseries.PanelBuilder | stat.PanelBuilder | bargauge.PanelBuilder | table.PanelBuilder;

function panelBuilder(spec: PanelSpec): AnyPanelBuilder {
  switch (spec.kind) {
    case 'timeseries':
      return new timeseries.PanelBuilder()
        .fillOpacity(10)
        .legend(
          new common.VizLegendOptionsBuilder()
            .showLegend(true)
            .displayMode(common.LegendDisplayMode.List)
            .placement(common.LegendPlacement.Bottom),
        );
    case 'stat':
      return new stat.PanelBuilder()
        .graphMode(common.BigValueGraphMode.None)
        .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']));
    case 'bargauge':
      return new bargauge.PanelBuilder()
        .min(0)
        .max(1)
        .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']));
    case 'table':
      return new table.PanelBuilder();
  }
}

function panel(spec: PanelSpec): cog.Builder<dashboard.Panel> {
  const builder = panelBuilder(spec)
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .unit(spec.unit)
    .height(8)
    .span(spec.width ?? 12);
  if (spec.thresholds) {
    builder.thresholds(
      new dashboard.ThresholdsConfigBuilder()
        .mode(dashboard.ThresholdsMode.Absolute)
        .steps(spec.thresholds.map((step) => ({ value: step.from, color: step.color }))),
    );
  }
  spec.queries.forEach((query, index) => {
    const target = new prometheus.DataqueryBuilder()
      .refId(String.fromCharCode(65 + index))
      .expr(query.expr)
      .legendFormat(query.legend)
      .datasource(DATASOURCE);
    builder.withTarget(spec.kind === 'timeseries' ? target.range() : target.instant());
  });
  return builder;
}

function variable(name: VariableName): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder(name)
    .label(name === 'tenant' ? 'Tenant' : 'Department')
    .datasource(DATASOURCE)
    .query(VARIABLE_SOURCES[name])
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*');
}

/** The dashboard as Grafana imports it (what the ConfigMaps carry). */
export function toGrafana(spec: DashboardSpec): dashboard.Dashboard {
  const builder = new dashboard.DashboardBuilder(spec.title)
    .uid(`switchboard-${spec.name}`)
    .description(spec.description)
    .tags(['switchboard'])
    .editable()
    .refresh('30s')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser')
    .withVariable(new dashboard.DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'));
  for (const name of spec.variables) builder.withVariable(variable(name));
  for (const item of spec.panels) builder.withPanel(panel(item));
  return builder.build();
}
