// Test only, preloaded into a routing child process (`--import`): the process's clock reads
// TEST_CLOCK_OFFSET_MS (at most a minute) away from the real one, so a test can start a replica
// a few seconds before a department's closing time instead of waiting for the wall clock.
// Timers still run in real time; only what Date reports moves.
const offset = Number(process.env.TEST_CLOCK_OFFSET_MS);
if (!Number.isFinite(offset) || Math.abs(offset) > 60_000) {
  throw new Error(
    `TEST_CLOCK_OFFSET_MS must be a number of ms within a minute, not "${process.env.TEST_CLOCK_OFFSET_MS}"`,
  );
}
const RealDate = Date;
class ShiftedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(RealDate.now() + offset);
    else super(...args);
  }

  static now() {
    return RealDate.now() + offset;
  }
}
globalThis.Date = ShiftedDate;
