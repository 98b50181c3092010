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

/**
 * Reads what the feeder writes to a decoder of numbered frames (client/matroska-feed.ts: EBML elements, the Segment
 * and each Cluster of unknown size): each block's frame number (its Cluster's time plus its own) and bytes. Keeps
 * the Cluster's time from one write to the next.
 */
export function matroskaBlockReader(): (bytes: Uint8Array) => { number: number; frame: Uint8Array }[] {
  let clusterTime = 0;
  const vint = (b: Uint8Array, at: number, keepMarker: boolean): { value: number; length: number; unknown: boolean } => {
    const first = b[at]!;
    let length = 1;
    while (length <= 8 && !(first & (0x80 >> (length - 1)))) length++;
    let value = keepMarker ? first : first & (0xff >> length);
    let allOnes = value === 0xff >> length;
    for (let i = 1; i < length; i++) {
      value = value * 256 + b[at + i]!;
      allOnes &&= b[at + i] === 0xff;
    }
    return { value, length, unknown: !keepMarker && allOnes };
  };
  return (b) => {
    const out: { number: number; frame: Uint8Array }[] = [];
    for (let at = 0; at < b.length; ) {
      const id = vint(b, at, true);
      const size = vint(b, at + id.length, false);
      const body = at + id.length + size.length;
      if (id.value === 0x18538067 || id.value === 0x1f43b675) {
        at = body; // Segment, Cluster: their children follow
        continue;
      }
      const payload = b.subarray(body, body + size.value);
      if (id.value === 0xe7) clusterTime = payload.reduce((v, x) => v * 256 + x, 0);
      if (id.value === 0xa3) {
        const relative = ((payload[1]! << 8) | payload[2]!) << 16 >> 16;
        out.push({ number: clusterTime + relative, frame: payload.subarray(4) });
      }
      at = body + size.value;
    }
    return out;
  };
}
