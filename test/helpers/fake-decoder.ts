import type { Decoder } from "../../src/client/decoding.ts";

/**
 * A decoder for session tests: the test says what writing and finishing do (which frames come out when); the rest
 * of the Decoder interface (alive, exit, no failure) is the same for every fake.
 */
export function fakeDecoder(o: {
  write(bytes: Uint8Array): void;
  finish?(): void;
  onKill?(): void;
  /** Messages the decoder has printed so far (pictures it could not decode). */
  errors?: () => number;
  trouble?: string;
}): Decoder {
  let alive = true;
  return {
    async write(bytes) {
      o.write(bytes);
    },
    async finish() {
      o.finish?.();
      alive = false;
    },
    kill() {
      alive = false;
      o.onKill?.();
    },
    get alive() {
      return alive;
    },
    exited: Promise.resolve({ code: 0 }),
    failure: null,
    get errors() {
      return o.errors?.() ?? 0;
    },
    trouble: o.trouble ?? "",
    lastError: "",
    input: { codec: "fake", width: 1, height: 1 },
  };
}
