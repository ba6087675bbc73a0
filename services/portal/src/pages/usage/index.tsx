import { stream } from 'hono/streaming';
import type { ratingServiceV1, ratingV1 } from '@switchboard/proto';
import { Select } from '../../components.js';
import type { PortalContext } from '../../context.js';
import { fromGrpc, PortalError } from '../../errors.js';
import { translator, type Translate } from '../../i18n.js';
import { render } from '../../render.js';
import { userMetadata } from '../../rpc.js';
import { api, sessionOf, type PortalPage } from '../../routes.js';
import { UsageChart } from './chart.js';
import { berlinMonth, formatMinutes, formatTenThousandths, monthName, monthsBack, MONTH_PATTERN } from './format.js';
import { usageMessages, type UsageKey } from './messages.js';

const ROLES = ['admin', 'finance', 'operator'] as const;

/** The month asked for (`?monat=YYYY-MM`), else the current Berlin month. */
function chosenMonth(c: PortalContext): string {
  const asked = c.req.query('monat') ?? c.req.query('month');
  if (asked === undefined || asked === '') return berlinMonth(c.var.deps.now());
  if (!MONTH_PATTERN.test(asked)) {
    throw new PortalError(400, 'error.invalid', { reason: `${asked} (JJJJ-MM)` }, `month ${asked} is not YYYY-MM`);
  }
  return asked;
}

const poolName = (t: Translate<UsageKey>, pool: string) =>
  pool === 'de-fixed' || pool === 'de-mobile' ? t(`pool.${pool}`) : pool;

/** 1/10,000 EUR as a decimal euro string with four places (exact; for the CSV). */
function euroDecimal(amount: string): string {
  const value = BigInt(amount);
  const magnitude = value < 0n ? -value : value;
  const text = `${magnitude / 10_000n}.${String(magnitude % 10_000n).padStart(4, '0')}`;
  return value < 0n ? `-${text}` : text;
}

const CSV_COLUMNS = [
  'call_id',
  'leg_id',
  'site_id',
  'started_at',
  'billing_month',
  'destination',
  'destination_class',
  'duration_seconds',
  'billed_seconds',
  'pool',
  'bundle_seconds',
  'overage_seconds',
  'connection_fee_eur',
  'amount_eur',
  'tariff_id',
  'tariff_version',
  'rating_version',
] as const;

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
const csvField = (value: string | number) => {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

const csvLine = (leg: ratingV1.RatedLeg) =>
  [
    leg.callId,
    leg.legId,
    leg.siteId,
    leg.startedAt ? leg.startedAt.toISOString() : '',
    leg.billingMonth,
    leg.destination,
    leg.destinationClass,
    leg.durationSeconds,
    leg.billedSeconds,
    leg.pool,
    leg.bundleSeconds,
    leg.overageSeconds,
    euroDecimal(leg.connectionFee),
    euroDecimal(leg.amount),
    leg.tariffId,
    leg.tariffVersion,
    leg.ratingVersion,
  ]
    .map(csvField)
    .join(',') + '\r\n';

function UsageBody({ c, usage, month }: { c: PortalContext; usage: ratingServiceV1.GetUsageResponse; month: string }) {
  const language = c.var.language;
  const t = translator(usageMessages, language);
  const named = monthName(month, language);
  const pools = usage.pools;
  const time = usage.asOf
    ? new Intl.DateTimeFormat(language === 'de' ? 'de-DE' : 'en-GB', {
        timeZone: 'Europe/Berlin',
        dateStyle: 'medium',
        timeStyle: 'short',
      }).format(usage.asOf)
    : '';
  return (
    <>
      <form method="get" action="/verbrauch" class="actions">
        <Select
          name="monat"
          label={t('month')}
          value={month}
          options={monthsBack(berlinMonth(c.var.deps.now()), 13).map((value) => ({
            value,
            label: monthName(value, language),
          }))}
        />
        <button type="submit">{t('show')}</button>
      </form>
      <p>
        {t('packages', { count: usage.packages })} {time ? t('asOf', { time }) : ''}
      </p>
      <h2>{t('bundles')}</h2>
      <UsageChart
        pools={pools}
        language={language}
        text={{
          title: t('chartTitle', { month: named }),
          describe: (pool) =>
            t('describe', {
              pool: poolName(t, pool.pool),
              used: formatMinutes(pool.usedSeconds, language),
              capacity: formatMinutes(pool.capacitySeconds, language),
              forecast: formatMinutes(pool.forecastUsedSeconds, language),
              overage: formatMinutes(pool.overageSeconds, language),
            }),
          poolName: (pool) => poolName(t, pool),
          used: t('legendUsed'),
          overage: t('legendOverage'),
          forecast: t('legendForecast'),
          bundle: t('legendBundle'),
          minutes: t('minutes'),
        }}
      />
      <table>
        <caption>{t('tableCaption', { month: named })}</caption>
        <thead>
          <tr>
            <th scope="col">{t('pool')}</th>
            <th scope="col">{t('capacity')}</th>
            <th scope="col">{t('used')}</th>
            <th scope="col">{t('remaining')}</th>
            <th scope="col">{t('forecast')}</th>
            <th scope="col">{t('overageMinutes')}</th>
            <th scope="col">{t('overageAmount')}</th>
            <th scope="col">{t('forecastAmount')}</th>
          </tr>
        </thead>
        <tbody>
          {pools.map((pool) => (
            <tr>
              <th scope="row">{poolName(t, pool.pool)}</th>
              <td>{formatMinutes(pool.capacitySeconds, language)}</td>
              <td>{formatMinutes(pool.usedSeconds, language)}</td>
              <td>{formatMinutes(pool.remainingSeconds, language)}</td>
              <td>{formatMinutes(pool.forecastUsedSeconds, language)}</td>
              <td>{formatMinutes(pool.overageSeconds, language)}</td>
              <td>{formatTenThousandths(pool.overageAmount, language)}</td>
              <td>{formatTenThousandths(pool.forecastOverageAmount, language)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>{t('costs')}</h2>
      <p>
        {t('costsSoFar', {
          amount: formatTenThousandths(usage.amount, language),
          forecast: formatTenThousandths(usage.forecastAmount, language),
        })}
      </p>
      <h2>{t('classes')}</h2>
      {usage.classes.length ? (
        <table>
          <caption>{t('classesCaption', { month: named })}</caption>
          <thead>
            <tr>
              <th scope="col">{t('destinationClass')}</th>
              <th scope="col">{t('legs')}</th>
              <th scope="col">{t('billedMinutes')}</th>
              <th scope="col">{t('amount')}</th>
            </tr>
          </thead>
          <tbody>
            {usage.classes.map((row) => (
              <tr>
                <th scope="row">{row.destinationClass}</th>
                <td>{row.legs}</td>
                <td>{formatMinutes(row.billedSeconds, language)}</td>
                <td>{formatTenThousandths(row.amount, language)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p>{t('noUsage')}</p>
      )}
      <h2>{t('export')}</h2>
      <p>{t('exportText')}</p>
      <p>
        <a href={`/verbrauch/einzelverbindungen.csv?monat=${month}`} download={`einzelverbindungen-${month}.csv`}>
          {t('exportLink', { month: named })}
        </a>
      </p>
    </>
  );
}

export const usagePage: PortalPage = {
  name: 'usage',
  nav: { path: '/verbrauch', label: { de: usageMessages.de.label, en: usageMessages.en.label } },
  routes: [
    {
      method: 'GET',
      path: '/verbrauch',
      allow: ROLES,
      handler: async (c) => {
        const month = chosenMonth(c);
        const usage = await api(c).rating.getUsage({ tenantId: c.var.tenantId, month, asOf: undefined });
        return render(c, {
          title: translator(usageMessages, c.var.language)('title'),
          body: <UsageBody c={c} usage={usage} month={month} />,
        });
      },
    },
    {
      method: 'GET',
      path: '/api/usage',
      allow: ROLES,
      handler: async (c) =>
        c.json(await api(c).rating.getUsage({ tenantId: c.var.tenantId, month: chosenMonth(c), asOf: undefined })),
    },
    {
      method: 'GET',
      path: '/verbrauch/einzelverbindungen.csv',
      allow: ROLES,
      handler: async (c) => {
        const month = chosenMonth(c);
        const { deps, tenantId } = c.var;
        const call = deps.clients
          .client('billing')
          .exportRatedLegs({ tenantId, month }, await userMetadata(deps.tokens, sessionOf(c)));
        const legs: AsyncIterator<{ leg?: ratingV1.RatedLeg }> = call[Symbol.asyncIterator]();
        // The first answer before the response starts: a refusal is still an error page then.
        const first = await legs.next().catch((error: unknown) => {
          throw fromGrpc(error, 'billing');
        });
        c.header('Content-Type', 'text/csv; charset=utf-8');
        c.header('Content-Disposition', `attachment; filename="einzelverbindungen-${tenantId}-${month}.csv"`);
        return stream(
          c,
          async (out) => {
            out.onAbort(() => call.cancel());
            await out.write(CSV_COLUMNS.join(',') + '\r\n');
            for (let next = first; !next.done; next = await legs.next()) {
              if (next.value.leg) await out.write(csvLine(next.value.leg));
            }
          },
          async (error) => {
            // Half a file must not look like a whole one: the connection is cut, the download fails.
            deps.logger.error({ err: error, month }, 'CDR export failed midway');
            c.env.outgoing.destroy(error);
          },
        );
      },
    },
  ],
};
