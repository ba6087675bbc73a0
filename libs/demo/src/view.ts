import type { Summary } from './summary.js';
import type { LiveView } from './tracker.js';

const seconds = (ms: number) => `${(ms / 1_000).toFixed(1)} s`;
const pad = (value: string | number, width: number) => String(value).padStart(width);

/** The live terminal screen, redrawn about once a second. */
export function renderLive(view: LiveView, elapsedMs: number, placed: number, departments: readonly string[]): string {
  const lines = [
    `Switchboard demo — Amt Kropp-Stapelholm main number      ${seconds(elapsedMs)}   (Ctrl-C stops)`,
    '',
    `calls placed ${pad(placed, 5)}   in progress ${pad(view.inProgress, 4)}   in IVR ${pad(view.inIvr, 4)}   talking ${pad(view.talking, 4)}`,
    `answered     ${pad(view.answered, 5)}   abandoned   ${pad(view.abandoned, 4)}   busy   ${pad(view.busy, 4)}   other ${pad(view.other, 4)}`,
    `wait avg ${seconds(view.waitAvgMs)}   p95 ${seconds(view.waitP95Ms)}`,
    '',
    'waiting per department',
  ];
  for (const department of departments) {
    const waiting = view.waiting[department] ?? 0;
    lines.push(`  ${department.padEnd(20)} ${pad(waiting, 4)} ${'█'.repeat(Math.min(waiting, 50))}`);
  }
  const others = Object.entries(view.waiting).filter(([department]) => !departments.includes(department));
  for (const [department, waiting] of others) lines.push(`  ${department.padEnd(20)} ${pad(waiting, 4)}`);
  return lines.join('\n');
}

export function renderSummary(summary: Summary): string {
  const lines = [
    `offered ${summary.offered}  answered ${summary.answered}  abandoned ${summary.abandoned}  busy ${summary.busy}  other ${summary.other}  unfinished ${summary.unfinished}`,
    `max concurrent ${summary.maxConcurrent}  wait avg ${seconds(summary.waitAvgMs)}  p50 ${seconds(summary.waitP50Ms)}  p95 ${seconds(summary.waitP95Ms)}`,
    `${'department'.padEnd(20)} offered answered abandoned   p50 wait   p95 wait`,
  ];
  for (const [department, row] of Object.entries(summary.perDepartment)) {
    lines.push(
      `${department.padEnd(20)} ${pad(row.offered, 7)} ${pad(row.answered, 8)} ${pad(row.abandoned, 9)} ${pad(seconds(row.waitP50Ms), 10)} ${pad(seconds(row.waitP95Ms), 10)}`,
    );
  }
  return lines.join('\n');
}
