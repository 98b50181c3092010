import { SIZE_NAMES } from "../signal/profiles.ts";
import { estimateOffset, type ClockOffset, type ClockSample } from "./clock.ts";
import { fetchJson, type Fetch } from "./http.ts";

/** What a vat server says of its stream (/params) and its clock (/time); both optional for other servers. */
export interface ServerInfo {
  params: Record<string, unknown> | null;
  /** params.vat: vat's own description of the stream (size, fps, stream id, segment length). */
  vat: Record<string, unknown> | null;
  streamId: string | null;
  nominalFps: number | null;
  imageSize: number | null;
  sizeName: string | null;
}

/** Reads /params of a server root; nothing when it has none. */
export async function readServerInfo(fetchFn: Fetch, root: string | null): Promise<ServerInfo> {
  const params = root ? await readParams(fetchFn, root) : null;
  return describeParams(params);
}

/** The stream facts in a /params answer (vat's own keys first, then the prototype's). Pure. */
export function describeParams(params: Record<string, unknown> | null): ServerInfo {
  const vat = (params?.vat ?? null) as Record<string, unknown> | null;
  const imageSize = numberOr(params?.IMAGE_SIZE, null);
  return {
    params,
    vat,
    streamId: (vat?.streamId as string | undefined) ?? (params?.ID as string | undefined) ?? null,
    nominalFps: numberOr(vat?.fps ?? params?.FPS, null),
    imageSize,
    sizeName: (vat?.size as string | undefined) ?? (imageSize !== null ? (SIZE_NAMES[imageSize] ?? null) : null),
  };
}

export function numberOr<T>(v: unknown, fallback: T): number | T {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : Number.NaN;
  return Number.isFinite(n) ? n : fallback;
}

async function readParams(fetchFn: Fetch, root: string): Promise<Record<string, unknown> | null> {
  const r = await fetchJson(fetchFn, new URL("params", root).href, 3000);
  return r.ok && r.value && typeof r.value === "object" ? (r.value as Record<string, unknown>) : null;
}

const CLOCK_SAMPLES = 8;

/** The server's clock offset from /time samples; null when it has none. */
export async function syncClock(deps: { fetch: Fetch; now: () => number }, root: string): Promise<ClockOffset | null> {
  const samples: ClockSample[] = [];
  const url = new URL("time", root).href;
  for (let i = 0; i < CLOCK_SAMPLES; i++) {
    const sentMs = deps.now();
    const r = await fetchJson(deps.fetch, url, 2000);
    const receivedMs = deps.now();
    if (!r.ok) {
      if (i === 0) return null;
      continue;
    }
    const serverMs = (r.value as { nowMs?: unknown })?.nowMs;
    if (typeof serverMs !== "number") return null;
    samples.push({ sentMs, serverMs, receivedMs });
  }
  return estimateOffset(samples);
}
