import { describe, expect, test } from "bun:test";
import { OrderedPipeline } from "../../src/client/ordered-pipeline.ts";

/** A promise settled by hand. */
function later<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe("low-latency fetches side by side, handed on in order", () => {
  test("a later fetch that finishes first waits for the earlier one's delivery", async () => {
    const pipe = new OrderedPipeline(4);
    const delivered: string[] = [];
    const a = later<string>();
    const b = later<string>();
    await pipe.add(a.promise, async (v) => void delivered.push(v));
    await pipe.add(b.promise, async (v) => void delivered.push(v));
    b.resolve("b");
    await Bun.sleep(1);
    expect(delivered).toEqual([]);
    a.resolve("a");
    await pipe.flush();
    expect(delivered).toEqual(["a", "b"]);
  });

  test("at most `depth` open: adding one more waits until the oldest is delivered", async () => {
    const pipe = new OrderedPipeline(2);
    const a = later<number>();
    await pipe.add(a.promise, async () => {});
    let added = false;
    const adding = pipe.add(Promise.resolve(2), async () => {}).then(() => (added = true));
    await Bun.sleep(1);
    expect(added).toBe(false);
    a.resolve(1);
    await adding;
    expect(added).toBe(true);
  });

  test("a delivery that fails (the decoder) surfaces on flush", async () => {
    const pipe = new OrderedPipeline(4);
    await pipe.add(Promise.resolve(1), async () => {
      throw new Error("decoder gone");
    });
    await expect(pipe.flush()).rejects.toThrow("decoder gone");
  });
});
