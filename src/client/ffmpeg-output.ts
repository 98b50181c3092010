/** Parsers for what ffmpeg prints on stderr. Pure. */

/** The size of the raw video ffmpeg writes: the first "Video: rawvideo … WxH" line after "Output #0". */
export function parseRawOutputSize(stderr: string): { width: number; height: number } | null {
  const at = stderr.indexOf("Output #0");
  if (at < 0) return null;
  const m = /Video: rawvideo[^\n]*?, (\d{2,5})x(\d{2,5})/.exec(stderr.slice(at));
  return m ? { width: Number(m[1]), height: Number(m[2]) } : null;
}

/**
 * Whether the raw video ffmpeg writes is full range: its "Video: rawvideo (…), FORMAT(…)" line after "Output #0"
 * names a yuvj format or the "pc" range; null before that line.
 */
export function parseRawOutputFullRange(stderr: string): boolean | null {
  const at = stderr.indexOf("Output #0");
  if (at < 0) return null;
  const m = /Video: rawvideo(?: \([^)\n]*\))?, (\w+)(\([^)\n]*\))?/.exec(stderr.slice(at));
  if (!m) return null;
  return m[1]!.startsWith("yuvj") || /\bpc\b/.test(m[2] ?? "");
}

/** The input's codec and size, from the first "Stream #0:N…: Video: codec …, WxH" line under "Input #0". */
export function parseInputVideo(stderr: string): { codec: string; width: number; height: number } | null {
  const at = stderr.indexOf("Input #0");
  if (at < 0) return null;
  const m = /Stream #0:\d+[^\n]*?: Video: (\w+)[^\n]*?, (\d{2,5})x(\d{2,5})/.exec(stderr.slice(at));
  return m ? { codec: m[1]!, width: Number(m[2]), height: Number(m[3]) } : null;
}

/**
 * Messages of a decoder or parser that say nothing is wrong with the pictures: the probe's note, and what a fresh
 * decoder says of a stream with B-frames that does not declare its reordering, or of a new size.
 */
const NOT_TROUBLE = ["not enough frames to estimate rate", "Increasing reorder buffer", "Reinit context"];

/**
 * A line a decoder prints when its input is broken: a message of a decoder or parser ("[h264 @ 0x…] error while
 * decoding MB 18 6", "[NULL @ 0x…] missing picture in access unit") or ffmpeg's own "Error while decoding stream".
 * A sound stream prints none once running, but for the notes in NOT_TROUBLE.
 */
export function isDecodeTrouble(line: string): boolean {
  if (line.startsWith("Error while decoding")) return true;
  return /^\[[^\]]* @ 0x[0-9a-f]+\] /.test(line) && !NOT_TROUBLE.some((note) => line.includes(note));
}
