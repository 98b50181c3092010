/**
 * What the origin's encoder says about one ingest: ffmpeg's tee muxer names the output that failed and why, e.g.
 * `[tee @ 0x…] Slave '[f=flv:onfail=ignore]rtmp://host:1935/live/KEY': error opening: Connection refused`. Pure: a log
 * line and the ingest URLs in, which ingest failed and why out (null for every other line).
 */
import { redactPush } from "../serve/live-producer.ts";

export interface IngestFailure {
  /** Index into the ingest URLs given. */
  index: number;
  reason: string;
}

const SLAVE_FAILED = /Slave '(?:\[[^\]]*\])?(.*?)': (.+)$/;
/** Later failures name the output by its place in the tee list, where the origin's own HLS output is #0. */
const MUXER_FAILED = /Slave muxer #(\d+) failed: (.+?)(?:, continuing with .*)?$/;

export function parseIngestFailure(line: string, ingestUrls: readonly string[]): IngestFailure | null {
  const muxer = MUXER_FAILED.exec(line);
  if (muxer) {
    const index = Number(muxer[1]) - 1;
    return index >= 0 && index < ingestUrls.length ? { index, reason: muxer[2]!.trim() } : null;
  }
  const m = SLAVE_FAILED.exec(line);
  if (!m) return null;
  // serve shows a push without its path or credentials (serve/live-producer.ts redactPush): matched as shown, when
  // that names one ingest only.
  const exact = ingestUrls.indexOf(m[1]!);
  const shown = ingestUrls.flatMap((u, i) => (redactPush(u) === m[1] ? [i] : []));
  const index = exact >= 0 ? exact : shown.length === 1 ? shown[0]! : -1;
  if (index < 0) return null;
  return { index, reason: m[2]!.trim() };
}
