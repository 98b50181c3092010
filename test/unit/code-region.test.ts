import { expect, test } from "bun:test";
import { CODE_SQUARE } from "../../src/client/decoder.ts";
import { SIZE_NAMES, parseSize } from "../../src/signal/profiles.ts";
import { planLayout } from "../../src/signal/render.ts";

// The decoder crops CODE_SQUARE out of every frame before reading it; the renderer decides where the code is. The
// crop must hold the whole code with its quiet zone at every size, for the shortest and longest stream ids (they fix
// the code's version and so its size), live and prerecorded. ffmpeg's crop rounds its offset and side down to even
// pixels (4:2:0 input), as here.
const even = (v: number) => Math.floor(v) & ~1;

for (const name of SIZE_NAMES) {
  test(`${name}: the decoder's crop holds the code and its quiet zone`, () => {
    const size = parseSize(name);
    for (const id of ["a", "x".repeat(32)]) {
      for (const kind of ["live", "video"] as const) {
        const l = planLayout(size, id, kind);
        const at = even(size.height * CODE_SQUARE.offset);
        const side = even(size.height * CODE_SQUARE.side);
        expect({ id: id.length, kind, left: l.qrX >= at, top: l.qrY >= at, right: l.qrX + l.qrPx <= at + side, bottom: l.qrY + l.qrPx <= at + side })
          .toEqual({ id: id.length, kind, left: true, top: true, right: true, bottom: true });
      }
    }
  });
}
