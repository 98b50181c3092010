/**
 * Low-latency fetches run side by side and are handed on in order. A part's request goes out the moment the stream
 * names it, not when the one before has finished arriving: a delay on one body (a relay, a CDN, a slow link) then
 * shifts only that body's frames instead of holding back every request after it, and each frame's stamp says when the
 * provider delivered it. At most `depth` fetches are open at once: a stalled body stops new requests behind it.
 */
export class OrderedPipeline {
  private tail: Promise<void> = Promise.resolve();
  private readonly open: Promise<void>[] = [];
  /** The first delivery that failed (the decoder gone): every later add() throws it, so the source stops at once. */
  private failure: { error: unknown } | null = null;

  constructor(private readonly depth: number) {}

  /** Queues a fetch already under way; `deliver` runs once it and every earlier one were delivered. */
  async add<T>(fetched: Promise<T>, deliver: (value: T) => Promise<void>): Promise<void> {
    this.throwIfFailed();
    const done = this.tail.then(async () => deliver(await fetched));
    this.tail = done;
    this.open.push(done);
    void done
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => this.open.splice(this.open.indexOf(done), 1));
    // Backpressure: a stalled body holds back the requests behind it.
    while (this.open.length >= this.depth) await this.open[0]!.catch(() => {});
    this.throwIfFailed();
  }

  /** Waits for every queued delivery; throws the first one's failure. */
  async flush(): Promise<void> {
    await this.tail.catch(() => {});
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
