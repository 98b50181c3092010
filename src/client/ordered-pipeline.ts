/**
 * Low-latency fetches run side by side and are handed on in order. A part's request goes out the moment the stream
 * names it, not when the one before has finished arriving: a delay on one body (a relay, a CDN, a slow link) then
 * shifts only that body's frames instead of holding back every request after it, and each frame's stamp says when the
 * provider delivered it. At most `depth` fetches are open at once: a stalled body stops new requests behind it.
 */
export class OrderedPipeline {
  private tail: Promise<void> = Promise.resolve();
  private readonly open: Promise<void>[] = [];

  constructor(private readonly depth: number) {}

  /** Queues a fetch already under way; `deliver` runs once it and every earlier one were delivered. */
  async add<T>(fetched: Promise<T>, deliver: (value: T) => Promise<void>): Promise<void> {
    const done = this.tail.then(async () => deliver(await fetched));
    this.tail = done;
    this.open.push(done);
    void done.finally(() => this.open.splice(this.open.indexOf(done), 1)).catch(() => {});
    // Backpressure, and a delivery that failed (the decoder) surfaces here.
    while (this.open.length >= this.depth) await this.open[0];
  }

  /** Waits for every queued delivery; throws the first one's failure. */
  async flush(): Promise<void> {
    await this.tail;
  }
}
