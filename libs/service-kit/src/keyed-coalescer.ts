/**
 * Runs a key's task at most once at a time (other keys' side by side), and a task asked for while another
 * of its key still waits to start is not queued again: the caller shares the waiting one. For
 * tasks that do the same whole job whenever they start (reloading a tenant): one that starts
 * after a request covers it, so a burst of requests costs two runs, not one per request.
 */
export class KeyedCoalescer<T> {
  private readonly running = new Map<string, Promise<T>>();
  private readonly waiting = new Map<string, Promise<T>>();

  run(key: string, task: () => Promise<T>): Promise<T> {
    const waiting = this.waiting.get(key);
    if (waiting) return waiting;
    const start = (): Promise<T> => {
      this.waiting.delete(key);
      const started = task();
      this.running.set(key, started);
      const settle = () => {
        if (this.running.get(key) === started) this.running.delete(key);
      };
      started.then(settle, settle);
      return started;
    };
    const running = this.running.get(key);
    if (!running) return start();
    const queued = running.then(start, start);
    this.waiting.set(key, queued);
    return queued;
  }
}
