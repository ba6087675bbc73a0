/**
 * Runs tasks of one key one after another (tasks of different keys run side by side). Within a
 * replica, reservations for one department then see each other's writes instead of all racing
 * for the same agent; across replicas the revision check still decides.
 */
export class KeyedSerial {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

/**
 * Runs a key's task at most once at a time, like KeyedSerial, but a task asked for while another
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
