/**
 * The RFC 6381 codecs string of an init segment's video track (`avc1.42c01e`), as an MPD or a multivariant playlist
 * declares it and a browser's MediaSource needs it. Pure.
 */
import { childBoxes, findChild, findPath } from "./boxes.ts";

/** The video track's codecs string; the sample entry's bare type when it is not H.264 (or has no avcC). */
export function videoCodecString(init: Uint8Array): string | null {
  const moov = findChild(childBoxes(init), "moov");
  if (!moov) return null;
  for (const trak of childBoxes(moov.body).filter((b) => b.type === "trak")) {
    const hdlr = findPath(trak, ["mdia", "hdlr"]);
    if (!hdlr || String.fromCharCode(...hdlr.body.subarray(8, 12)) !== "vide") continue;
    const stsd = findPath(trak, ["mdia", "minf", "stbl", "stsd"]);
    const entry = stsd ? childBoxes(stsd.body, 8)[0] : undefined;
    if (!entry) return null;
    if (entry.type !== "avc1" && entry.type !== "avc3") return entry.type;
    // A visual sample entry has 78 bytes of fields before its child boxes.
    const avcC = findChild(childBoxes(entry.body, 78), "avcC");
    if (!avcC || avcC.body.length < 4) return entry.type;
    const hex = (b: number) => b.toString(16).padStart(2, "0");
    return `${entry.type}.${hex(avcC.body[1]!)}${hex(avcC.body[2]!)}${hex(avcC.body[3]!)}`;
  }
  return null;
}
