import { expect, test } from "bun:test";
import { CLUSTER_SPAN_MS, MatroskaBlocks, matroskaHeader } from "../../src/client/matroska-feed.ts";
import { matroskaBlockReader } from "../helpers/fake-decoder.ts";

test("the header: EBML with DocType matroska, a Segment of unknown size, times in ms, one video track of the codec", () => {
  const h = matroskaHeader("h264");
  expect([...h.subarray(0, 4)]).toEqual([0x1a, 0x45, 0xdf, 0xa3]);
  const text = new TextDecoder("latin1").decode(h);
  expect(text).toContain("matroska");
  expect(text).toContain("V_MPEG4/ISO/AVC");
  expect(new TextDecoder("latin1").decode(matroskaHeader("hevc"))).toContain("V_MPEGH/ISO/HEVC");
  // Segment, then eight bytes of an unknown size.
  const at = h.findIndex((_, i) => h[i] === 0x18 && h[i + 1] === 0x53 && h[i + 2] === 0x80 && h[i + 3] === 0x67);
  expect([...h.subarray(at + 4, at + 12)]).toEqual([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  // TimestampScale 1,000,000 ns.
  const scale = h.findIndex((_, i) => h[i] === 0x2a && h[i + 1] === 0xd7 && h[i + 2] === 0xb1);
  expect([...h.subarray(scale + 3, scale + 7)]).toEqual([0x83, 0x0f, 0x42, 0x40]);
});

test("blocks: each frame's bytes as they are, at its time, on across calls; a Cluster before the first and past 30 s either way; sizes of every length", () => {
  const read = matroskaBlockReader();
  const w = new MatroskaBlocks();
  const small = new Uint8Array([1, 2, 3]);
  const big = new Uint8Array(300_000).map((_, i) => i % 251);
  const bytes = new Uint8Array([...small, ...big, 9]);
  const clusters = (b: Uint8Array) => b.reduce((n, _, i) => n + (b[i] === 0x1f && b[i + 1] === 0x43 && b[i + 2] === 0xb6 && b[i + 3] === 0x75 ? 1 : 0), 0);
  // B-frames: times out of order (a frame shown before the one before it, by less than a Cluster's span).
  const first = w.blocks(bytes, [3, 300_003, 300_004], [10_000, 10_120, 10_040]);
  expect([...first.subarray(0, 4)]).toEqual([0x1f, 0x43, 0xb6, 0x75]);
  expect(clusters(first)).toBe(1);
  const blocks = read(first);
  expect(blocks.map((b) => b.number)).toEqual([10_000, 10_120, 10_040]);
  expect([...blocks[0]!.frame]).toEqual([1, 2, 3]);
  expect(Bun.hash(blocks[1]!.frame)).toBe(Bun.hash(big));
  expect([...blocks[2]!.frame]).toEqual([9]);
  // The next call goes on in the same Cluster; past CLUSTER_SPAN_MS a new one opens, and a block just before its time
  // (a B-frame) is a negative offset in it.
  const more = w.blocks(new Uint8Array([4, 5, 6]), [1, 2, 3], [10_160, 10_000 + CLUSTER_SPAN_MS + 40, 10_000 + CLUSTER_SPAN_MS]);
  expect(clusters(more)).toBe(1);
  expect(read(more).map((b) => b.number)).toEqual([10_160, 10_000 + CLUSTER_SPAN_MS + 40, 10_000 + CLUSTER_SPAN_MS]);
});
