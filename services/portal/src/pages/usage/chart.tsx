import type { ratingServiceV1 } from '@switchboard/proto';
import type { FC } from 'hono/jsx';
import type { Language } from '../../i18n.js';
import { formatMinutes } from './format.js';

export interface ChartText {
  title: string;
  /** One sentence per pool, read out instead of the picture. */
  describe: (pool: ratingServiceV1.PoolUsage) => string;
  poolName: (pool: string) => string;
  used: string;
  overage: string;
  forecast: string;
  bundle: string;
  minutes: string;
}

const WIDTH = 720;
const LEFT = 16;
const BAR_WIDTH = WIDTH - LEFT * 2;
const ROW = 78;
const TOP = 8;
// Colours with at least 3:1 against white and each other's neighbours (WCAG 1.4.11).
const USED = '#00528a';
const OVER = '#b00020';
const INK = '#1b1b1b';
const BAND = '#dfe8f0';

/**
 * Minutes used against each pool's bundle, with the month-end forecast as a dashed outline and
 * minutes beyond the bundle in red; drawn on the server as SVG (no script, no chart library).
 * The table beside it carries the same figures as text.
 */
export const UsageChart: FC<{ pools: readonly ratingServiceV1.PoolUsage[]; text: ChartText; language: Language }> = ({
  pools,
  text,
  language,
}) => {
  const most = Math.max(
    1,
    ...pools.flatMap((pool) => [
      Number(pool.capacitySeconds),
      Number(pool.usedSeconds),
      Number(pool.forecastUsedSeconds),
    ]),
  );
  const scale = (seconds: number) => (seconds / (most * 1.08)) * BAR_WIDTH;
  const height = TOP + pools.length * ROW + 34;
  return (
    <svg
      class="usage-chart"
      viewBox={`0 0 ${WIDTH} ${height}`}
      // Drawn at its own size: scaled to the page width its text would grow past the page's.
      width={WIDTH}
      height={height}
      role="img"
      aria-labelledby="verbrauch-grafik-titel verbrauch-grafik-text"
    >
      <title id="verbrauch-grafik-titel">{text.title}</title>
      <desc id="verbrauch-grafik-text">{pools.map((pool) => text.describe(pool)).join(' ')}</desc>
      {pools.map((pool, index) => {
        const y = TOP + index * ROW + 20;
        const capacity = Number(pool.capacitySeconds);
        const used = Number(pool.usedSeconds);
        const forecast = Number(pool.forecastUsedSeconds);
        const within = Math.min(used, capacity);
        return (
          <g>
            <text x={LEFT} y={y - 4} fill={INK} font-size="15" font-weight="600">
              {`${text.poolName(pool.pool)}: ${formatMinutes(used, language)} / ${formatMinutes(capacity, language)} ${text.minutes}`}
            </text>
            <rect x={LEFT} y={y} width={scale(capacity)} height={28} fill={BAND} stroke={INK} stroke-width="1" />
            <rect x={LEFT} y={y + 5} width={scale(within)} height={18} fill={USED} />
            {used > capacity ? (
              <rect x={LEFT + scale(capacity)} y={y + 5} width={scale(used - capacity)} height={18} fill={OVER} />
            ) : (
              ''
            )}
            <rect
              x={LEFT}
              y={y + 2}
              width={scale(forecast)}
              height={24}
              fill="none"
              stroke={INK}
              stroke-width="2"
              stroke-dasharray="6 4"
            />
            <text x={LEFT} y={y + 46} fill={INK} font-size="13">
              {`${text.forecast}: ${formatMinutes(forecast, language)} ${text.minutes}`}
            </text>
          </g>
        );
      })}
      <g transform={`translate(${LEFT} ${height - 16})`} font-size="13" fill={INK}>
        <rect x="0" y="-10" width="14" height="12" fill={USED} />
        <text x="20" y="0">
          {text.used}
        </text>
        <rect x="150" y="-10" width="14" height="12" fill={OVER} />
        <text x="170" y="0">
          {text.overage}
        </text>
        <rect x="330" y="-10" width="14" height="12" fill={BAND} stroke={INK} />
        <text x="350" y="0">
          {text.bundle}
        </text>
        <rect x="500" y="-10" width="14" height="12" fill="none" stroke={INK} stroke-width="2" stroke-dasharray="3 2" />
        <text x="520" y="0">
          {text.forecast}
        </text>
      </g>
    </svg>
  );
};
