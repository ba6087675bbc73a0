// Preloaded (`node --import`) into every service the stack starts, before the service itself:
// when the stack's process goes away — even killed with SIGKILL — its IPC channel closes, and
// the service then shuts down as on SIGTERM, so no orphan keeps ports and CPU.
if (process.send) {
  process.channel?.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}

export {};
