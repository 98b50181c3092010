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
