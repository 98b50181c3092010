import { parse } from "node:path";
import { badInput } from "../errors.ts";
import { parseFps, parseSize, parseStreamId, type SizeProfile } from "../signal/profiles.ts";
import type { FrameLayout } from "../signal/render.ts";

/** What `vat generate video` writes next to a video: enough to serve it and to re-render any of its frames. Pure. */
export interface VideoDescription {
  kind: "vat-test-signal";
  vatVersion: string;
  signalId: string;
  size: SizeProfile["name"];
  width: number;
  height: number;
  fps: number;
  frames: number;
  durationS: number;
  /** A keyframe starts every keyframeIntervalS seconds: the video can be cut into HLS segments without re-encoding. */
  keyframeIntervalS: number;
  codec: "h264";
  preset: string;
  crf: number;
  /** The text in frame n's QR code. */
  payload: string;
  layout: FrameLayout;
  video: string;
  bytes: number;
  createdAt: string;
}

/** signal.mp4 → signal.json (beside the video). */
export function sidecarPath(videoPath: string): string {
  const { dir, name } = parse(videoPath);
  return dir ? `${dir}/${name}.json` : `${name}.json`;
}

/** Reads a sidecar's text; a foreign or damaged one is an error that names the file. */
export function parseSidecar(text: string, where: string): VideoDescription {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw badInput(`'${where}' is not JSON: it should be the description 'vat generate video' wrote`);
  }
  if (v?.kind !== "vat-test-signal") {
    throw badInput(`'${where}' does not describe a vat test video (no "kind": "vat-test-signal")`);
  }
  try {
    parseStreamId(String(v.signalId));
    parseSize(String(v.size));
    parseFps(Number(v.fps));
  } catch (err) {
    throw badInput(`'${where}': ${(err as Error).message}`);
  }
  for (const k of ["frames", "durationS", "keyframeIntervalS"] as const) {
    if (!(typeof v[k] === "number" && (v[k] as number) > 0)) throw badInput(`'${where}': "${k}" must be a positive number`);
  }
  return v as unknown as VideoDescription;
}
