import { expect, test } from "bun:test";
import { QrReader } from "../../src/client/qr-reader.ts";
import { decodePayload, encodePayload } from "../../src/signal/payload.ts";
import { parseSize } from "../../src/signal/profiles.ts";
import { FrameRenderer, planLayout } from "../../src/signal/render.ts";

test("a frame whose levels moved off the fixed threshold (all of it lighter than mid-gray) is still read", async () => {
  const size = parseSize("240p");
  const r = new FrameRenderer(planLayout(size, "lv"));
  const reader = await QrReader.create();
  for (let n = 0; n < 3; n++) {
    const frame = r.render(n, encodePayload({ streamId: "lv", frameNumber: n, generatedAtMs: 1_795_000_000_000 + n * 40 }));
    // Black → 150, white → 230: no module is darker than the fast path's threshold.
    const washed = frame.map((v) => 150 + Math.round((v * 80) / 255));
    for (const [pixels, what] of [[frame, "as rendered"], [washed, "washed out"]] as const) {
      const got = reader.read(pixels, size.width, size.height);
      expect(got ? decodePayload(got.text)?.frameNumber : `${what}: unread`).toBe(n);
    }
  }
});

test("readers of different streams share one zxing instance and keep their own state, interleaved frame by frame", async () => {
  const streams = (["240p", "720p"] as const).map((name, i) => {
    const size = parseSize(name);
    return { size, id: `s${i}`, renderer: new FrameRenderer(planLayout(size, `s${i}`)) };
  });
  const readers = await Promise.all(streams.map(() => QrReader.create()));
  for (let n = 0; n < 4; n++) {
    for (const [i, s] of streams.entries()) {
      const frame = s.renderer.render(n, encodePayload({ streamId: s.id, frameNumber: n, generatedAtMs: 1_795_000_000_000 + n * 40 }));
      const got = readers[i]!.read(frame, s.size.width, s.size.height);
      const p = got ? decodePayload(got.text) : null;
      expect(p ? `${p.streamId}/${p.frameNumber}` : "unread").toBe(`${s.id}/${n}`);
    }
  }
});

test("after one full read a stream's frames are read at the code's grid, and a code that moved is found again", async () => {
  const size = parseSize("240p");
  const r = new FrameRenderer(planLayout(size, "grid"));
  const reader = await QrReader.create();
  const frame = (n: number) => r.render(n, encodePayload({ streamId: "grid", frameNumber: n, generatedAtMs: 1_795_000_000_000 + n * 40 }));
  /** The picture moved right and down by 13 pixels (what was left of it shows at the edges). */
  const moved = (pixels: Uint8Array) => {
    const out = new Uint8Array(pixels.length).fill(200);
    for (let y = 13; y < size.height; y++) out.set(pixels.subarray((y - 13) * size.width, (y - 12) * size.width - 13), y * size.width + 13);
    return out;
  };
  const numberIn = (pixels: Uint8Array) => {
    const got = reader.read(pixels, size.width, size.height);
    return got ? decodePayload(got.text)?.frameNumber : "unread";
  };
  for (let n = 0; n < 5; n++) expect(numberIn(frame(n))).toBe(n);
  expect(reader.counts).toEqual({ grid: 4, full: 1 });
  for (let n = 5; n < 10; n++) expect(numberIn(moved(frame(n)))).toBe(n);
  expect(reader.counts).toEqual({ grid: 8, full: 2 });
  expect(numberIn(new Uint8Array(size.width * size.height).fill(128))).toBe("unread");
  expect(numberIn(frame(11))).toBe(11);
  expect(reader.counts).toEqual({ grid: 8, full: 3 });
});

test("the decoder's code region, read decimated by zxing at first (even and odd steps), is then read at the grid", async () => {
  const size = parseSize("1080p");
  const r = new FrameRenderer(planLayout(size, "region"));
  for (const side of [288, 864, 500]) {
    // The code's square as the decoder crops it (a share of the height), cut to `side` rows by keeping every k-th pixel.
    const step = 864 / side;
    const region = (n: number) => {
      const frame = r.render(n, encodePayload({ streamId: "region", frameNumber: n, generatedAtMs: 1_795_000_000_000 + n * 33 }));
      const out = new Uint8Array(side * side);
      for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) out[y * side + x] = frame[(108 + Math.floor(y * step)) * size.width + 108 + Math.floor(x * step)]!;
      return out;
    };
    const reader = await QrReader.create();
    for (let n = 0; n < 6; n++) {
      const got = reader.read(region(n), side, side);
      expect(got ? decodePayload(got.text)?.frameNumber : "unread").toBe(n);
    }
    expect([side, reader.counts]).toEqual([side, { grid: 5, full: 1 }]);
  }
});

test("a frame of another size is searched afresh: where the code was says nothing of where it is", async () => {
  const reader = await QrReader.create();
  const frameOf = (name: "720p" | "240p", n: number) => {
    const size = parseSize(name);
    const pixels = new FrameRenderer(planLayout(size, "sz")).render(n, encodePayload({ streamId: "sz", frameNumber: n, generatedAtMs: 1_795_000_000_000 }));
    return { pixels, size };
  };
  const numberIn = ({ pixels, size }: ReturnType<typeof frameOf>) => {
    const got = reader.read(pixels, size.width, size.height);
    return got ? decodePayload(got.text)?.frameNumber : "unread";
  };
  expect(numberIn(frameOf("720p", 1))).toBe(1);
  expect(numberIn(frameOf("720p", 2))).toBe(2);
  // The 720p code's box lies partly outside a 240p frame: it must not be searched there.
  expect(numberIn(frameOf("240p", 3))).toBe(3);
  expect(numberIn(frameOf("240p", 4))).toBe(4);
  // The same picture padded wider: its code is where it was, yet the frame is another size.
  const { pixels, size } = frameOf("240p", 5);
  const wide = new Uint8Array((size.width + 10) * size.height).fill(128);
  for (let y = 0; y < size.height; y++) wide.set(pixels.subarray(y * size.width, (y + 1) * size.width), y * (size.width + 10));
  const got = reader.read(wide, size.width + 10, size.height);
  expect(got ? decodePayload(got.text)?.frameNumber : "unread").toBe(5);
  expect(reader.counts).toEqual({ grid: 2, full: 3 });
});

test("a reader told not to use the grid reads every frame with zxing", async () => {
  const size = parseSize("240p");
  const r = new FrameRenderer(planLayout(size, "zx"));
  const reader = await QrReader.create({ grid: false });
  for (let n = 0; n < 3; n++) {
    const got = reader.read(r.render(n, encodePayload({ streamId: "zx", frameNumber: n, generatedAtMs: 1_795_000_000_000 })), size.width, size.height);
    expect(got ? decodePayload(got.text)?.frameNumber : "unread").toBe(n);
  }
  expect(reader.counts).toEqual({ grid: 0, full: 3 });
});
