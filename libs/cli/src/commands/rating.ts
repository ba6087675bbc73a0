import type * as grpc from '@grpc/grpc-js';
import { ratingServiceV1 } from '@switchboard/proto';
import { classifyNumber } from '@switchboard/numbering';
import type { Command } from 'commander';
import { withApi, type UnaryMethod } from '../api-connection.js';

const DEFAULT_ADDRESS = '127.0.0.1:50055';

/** 1/10,000 EUR as a decimal string, exactly. */
export function formatEur(tenThousandths: string | number): string {
  const value = BigInt(tenThousandths);
  const sign = value < 0n ? '-' : '';
  const abs = value < 0n ? -value : value;
  return `${sign}${abs / 10_000n}.${String(abs % 10_000n).padStart(4, '0')}`;
}

const minutes = (seconds: string | number) => (Number(seconds) / 60).toFixed(1);

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function ratingCall<Req, Res>(method: keyof ratingServiceV1.RatingServiceClient, tenant: string, request: Req) {
  const target = {
    address: process.env['SB_RATING_ADDR'] || DEFAULT_ADDRESS,
    tenant,
    env: process.env,
    create: (address: string, credentials: grpc.ChannelCredentials) =>
      new ratingServiceV1.RatingServiceClient(address, credentials),
  };
  return withApi(target, ({ client, metadata }) => {
    const rpc = client[method] as unknown as UnaryMethod<Req, Res>;
    return new Promise<Res>((resolve, reject) =>
      rpc.call(client, request, metadata, (error, response) =>
        error ? reject(new Error(`rating ${String(method)}: ${error.details || error.message}`)) : resolve(response),
      ),
    );
  });
}

export function formatUsage(usage: ratingServiceV1.GetUsageResponse): string {
  const pools = table([
    ['pool', 'capacity min', 'used min', 'remaining min', 'overage min', 'overage EUR', 'forecast min', 'forecast EUR'],
    ...usage.pools.map((pool) => [
      pool.pool,
      minutes(pool.capacitySeconds),
      minutes(pool.usedSeconds),
      minutes(pool.remainingSeconds),
      minutes(pool.overageSeconds),
      formatEur(pool.overageAmount),
      minutes(pool.forecastUsedSeconds),
      formatEur(pool.forecastOverageAmount),
    ]),
  ]);
  const classes = table([
    ['class', 'legs', 'billed min', 'bundle min', 'overage min', 'EUR'],
    ...usage.classes.map((entry) => [
      entry.destinationClass,
      entry.legs,
      minutes(entry.billedSeconds),
      minutes(entry.bundleSeconds),
      minutes(entry.overageSeconds),
      formatEur(entry.amount),
    ]),
  ]);
  return [
    `${usage.tenantId} ${usage.month} (rating version ${usage.ratingVersion}, ${usage.packages} voice package(s))`,
    '',
    pools,
    '',
    classes,
    '',
    `charged so far: ${formatEur(usage.amount)} EUR; forecast to month end: ${formatEur(usage.forecastAmount)} EUR`,
  ].join('\n');
}

/** `sb classify`, `sb usage`, `sb rerate`: the rating service's commands. */
export function registerRatingCommands(program: Command): void {
  program
    .command('classify')
    .description('print the destination class of each number (offline, no server needed)')
    .argument('<number...>', 'numbers as dialled, e.g. 0151-12345678 or +43 1 234567')
    .option('--trunk-access <prefix>', 'outside-line prefix dialled before the number, stripped first')
    .option('--json', 'print JSON')
    .action((numbers: string[], options: { trunkAccess?: string; json?: boolean }) => {
      const results = numbers.map((number) => classifyNumber(number, { trunkAccess: options.trunkAccess }));
      process.stdout.write(
        options.json
          ? `${JSON.stringify(results, null, 2)}\n`
          : `${table(results.map((result) => [result.input, result.normalized || '-', result.destinationClass]))}\n`,
      );
    });

  program
    .command('usage')
    .description('minutes used and left per bundle pool, overage and forecast for a month')
    .requiredOption('--tenant <id>', 'tenant')
    .option('--month <YYYY-MM>', 'billing month (Europe/Berlin); default the current one', '')
    .option('--json', 'print JSON')
    .action(async (options: { tenant: string; month: string; json?: boolean }) => {
      const usage = await ratingCall<ratingServiceV1.GetUsageRequest, ratingServiceV1.GetUsageResponse>(
        'getUsage',
        options.tenant,
        { tenantId: options.tenant, month: options.month, asOf: undefined },
      );
      process.stdout.write(
        options.json
          ? `${JSON.stringify(ratingServiceV1.GetUsageResponse.toJSON(usage), null, 2)}\n`
          : `${formatUsage(usage)}\n`,
      );
    });

  program
    .command('rerate')
    .description("rate a month again under the tenant's current tariffs (a new rating version)")
    .requiredOption('--tenant <id>', 'tenant')
    .requiredOption('--month <YYYY-MM>', 'billing month (Europe/Berlin)')
    .option('--json', 'print JSON')
    .action(async (options: { tenant: string; month: string; json?: boolean }) => {
      const result = await ratingCall<ratingServiceV1.RerateMonthRequest, ratingServiceV1.RerateMonthResponse>(
        'rerateMonth',
        options.tenant,
        { tenantId: options.tenant, month: options.month },
      );
      process.stdout.write(
        options.json
          ? `${JSON.stringify(ratingServiceV1.RerateMonthResponse.toJSON(result), null, 2)}\n`
          : `${options.tenant} ${options.month}: rating version ${result.previousRatingVersion} → ${result.ratingVersion}, ${result.legs} legs rerated\n`,
      );
    });
}
