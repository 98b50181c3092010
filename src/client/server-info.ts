import { FPS_MAX, SIZE_NAMES } from "../signal/profiles.ts";
import { judgeClock, type ClockOffset } from "./clock.ts";
import { fetchJson, fetchText, type Fetch } from "./http.ts";

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * What a vat server says of its stream (/params) and its clock (/time); both optional for other servers. Both come
 * from the network: a value that is not what it should be is the stream's problem (dropped, with a warning), never
 * the user's bad input.
 */
export interface ServerInfo {
  /** /params with every invalid value left out: safe to store and to read back. */
  params: Record<string, unknown> | null;
  /** params.vat: vat's own description of the stream (size, fps, stream id, segment length), checked the same way. */
  vat: Record<string, unknown> | null;
  streamId: string | null;
  nominalFps: number | null;
  imageSize: number | null;
  sizeName: string | null;
  /** What was wrong with /params and left out. */
  warnings: string[];
}

/** /params and /time are small JSON answers: anything bigger is not one. */
const SERVER_INFO_LIMIT_BYTES = 1024 * 1024;

/** Reads /params of a server root; nothing when it has none. */
export async function readServerInfo(fetchFn: Fetch, root: string | null): Promise<ServerInfo> {
  if (!root) return describeParams(null);
  const r = await fetchJson(fetchFn, new URL("params", root).href, { timeoutMs: 3000, maxBytes: SERVER_INFO_LIMIT_BYTES });
  if (!r.ok) {
    // A server without /params (404) is an ordinary HLS server; one that answers it badly is worth a word.
    const info = describeParams(null);
    if (r.status === undefined || r.status >= 500 || r.tooLarge || r.reason === "answer is not JSON") {
      info.warnings.push(`/params ignored: ${r.reason}`);
    }
    return info;
  }
  return describeParams(r.value);
}

type Check = (v: unknown) => string | null;

const text = (max: number): Check => (v) =>
  typeof v !== "string" ? "is not a string" : v.length > max ? `is longer than ${max} characters` : null;
const numberIn = (min: number, max: number, whole = false): Check => (v) => {
  const n = numberOr(v, null);
  if (n === null) return "is not a number";
  if (n < min || n > max) return `is not from ${min} to ${max}`;
  return whole && !Number.isInteger(n) ? "is not a whole number" : null;
};
const either = (...checks: Check[]): Check => (v) => (checks.some((c) => c(v) === null) ? null : checks[0]!(v));
const sizeName: Check = (v) => (typeof v === "string" && (SIZE_NAMES as readonly string[]).includes(v) ? null : `is not one of ${SIZE_NAMES.join(", ")}`);
const nothing: Check = (v) => (v === null ? null : "is not null");

/** The prototype's keys (its notebooks read them) and vat's own: what each may hold. */
const PARAM_CHECKS: Record<string, Check> = {
  ID: text(64),
  FPS: numberIn(1, FPS_MAX),
  IMAGE_SIZE: numberIn(0, SIZE_NAMES.length - 1, true),
  CPU: either(numberIn(0, 1e6), text(64), nothing),
  MEMORY: either(numberIn(0, 1e9), text(64), nothing),
  VIDEO_TYPE: text(64),
};
const VAT_CHECKS: Record<string, Check> = {
  version: text(64),
  streamId: text(64),
  fps: numberIn(1, FPS_MAX),
  size: sizeName,
  width: numberIn(1, 16384, true),
  height: numberIn(1, 16384, true),
  segmentS: numberIn(0.05, 3600),
  listSize: numberIn(1, 100_000, true),
  // Only a manifest of the server's own /video/ folder: /params cannot send the client anywhere else.
  manifestPath: (v) => (typeof v === "string" && MANIFEST_PATH.test(v) ? null : "is not a /video/….m3u8 or .mpd path"),
};
const MANIFEST_PATH = /^\/video\/[A-Za-z0-9._-]{1,100}\.(m3u8|mpd)$/;

/** The playlist of a vat server that does not say (before /params named its manifest): MPEG-TS HLS's. */
export const DEFAULT_MANIFEST_PATH = "/video/stream.m3u8";

/**
 * The stream at a server root: the manifest /params names (a vat server serving DASH or LL-DASH has an MPD), else
 * vat's HLS playlist. A server that does not answer at all gets the HLS playlist too: the HLS source then waits for it
 * (--connect-timeout) with its own messages, as for any playlist URL.
 */
export async function findManifest(fetchFn: Fetch, root: string): Promise<string> {
  const r = await fetchText(fetchFn, new URL("params", root).href, { timeoutMs: 3000, maxBytes: SERVER_INFO_LIMIT_BYTES });
  const path = r.ok ? describeParams(parseJson(r.value)).vat?.manifestPath : undefined;
  return new URL(typeof path === "string" ? path : DEFAULT_MANIFEST_PATH, root).href;
}

/** Other values are kept as they are when they are this shallow and short; deeper or longer ones are dropped. */
const MAX_DEPTH = 4;
const MAX_TEXT = 1000;

/** The stream facts in a /params answer (vat's own keys first, then the prototype's). Pure. */
export function describeParams(answer: unknown): ServerInfo {
  const warnings: string[] = [];
  const params = answer === null || answer === undefined ? null : cleanObject(answer, "/params", PARAM_CHECKS, warnings);
  const vat = (params?.vat ?? null) as Record<string, unknown> | null;
  const imageSize = numberOr(params?.IMAGE_SIZE, null);
  return {
    params,
    vat,
    streamId: (vat?.streamId as string | undefined) ?? (params?.ID as string | undefined) ?? null,
    nominalFps: numberOr(vat?.fps ?? params?.FPS, null),
    imageSize,
    sizeName: (vat?.size as string | undefined) ?? (imageSize !== null ? (SIZE_NAMES[imageSize] ?? null) : null),
    warnings,
  };
}

/** The keys of an object that pass their checks; `vat` is an object checked key by key in turn. */
function cleanObject(v: unknown, where: string, checks: Record<string, Check>, warnings: string[]): Record<string, unknown> | null {
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    warnings.push(`${where} is not an object: ignored`);
    return null;
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(v)) {
    if (checks === PARAM_CHECKS && key === "vat") {
      const vat = cleanObject(value, "/params vat", VAT_CHECKS, warnings);
      if (vat) out.vat = vat;
      continue;
    }
    const check = checks[key];
    const problem = check ? check(value) : checkShape(value, 1);
    if (problem) warnings.push(`${where} ${key} ${describe(value)} ${problem}: ignored`);
    else out[key] = value;
  }
  return out;
}

/** Why a value is too deep or too long to keep, or null. Walks with an explicit stack: depth is what is in doubt. */
function checkShape(value: unknown, depth: number): string | null {
  const stack: { v: unknown; depth: number }[] = [{ v: value, depth }];
  while (stack.length) {
    const { v, depth: d } = stack.pop()!;
    if (typeof v === "string" && v.length > MAX_TEXT) return `is longer than ${MAX_TEXT} characters`;
    if (v === null || typeof v !== "object") continue;
    if (d >= MAX_DEPTH) return `is nested deeper than ${MAX_DEPTH} levels`;
    for (const child of Object.values(v)) stack.push({ v: child, depth: d + 1 });
  }
  return null;
}

function describe(v: unknown): string {
  if (typeof v === "string") return `'${v.length > 40 ? `${v.slice(0, 40)}…` : v}'`;
  if (v === null || typeof v !== "object") return String(v);
  return Array.isArray(v) ? "(a list)" : "(an object)";
}

export function numberOr<T>(v: unknown, fallback: T): number | T {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : Number.NaN;
  return Number.isFinite(n) ? n : fallback;
}

const CLOCK_SAMPLES = 8;

export interface ClockReading {
  /** Null when the server has no /time or its answers cannot be believed. */
  clock: ClockOffset | null;
  /** Why answers were refused (the run goes on as with --no-clock-sync); null when there was nothing to refuse. */
  warning: string | null;
}

/** The server's clock offset from /time samples, checked before it is believed. */
export async function readClock(deps: { fetch: Fetch; now: () => number }, root: string): Promise<ClockReading> {
  const samples: { sentMs: number; serverMs: unknown; receivedMs: number }[] = [];
  const url = new URL("time", root).href;
  for (let i = 0; i < CLOCK_SAMPLES; i++) {
    const sentMs = deps.now();
    const r = await fetchJson(deps.fetch, url, { timeoutMs: 2000, maxBytes: SERVER_INFO_LIMIT_BYTES });
    const receivedMs = deps.now();
    if (!r.ok) {
      if (i === 0) return { clock: null, warning: null };
      continue;
    }
    const answer = r.value;
    if (answer === null || typeof answer !== "object" || !("nowMs" in answer)) {
      if (i === 0) return { clock: null, warning: null };
      continue;
    }
    samples.push({ sentMs, serverMs: answer.nowMs, receivedMs });
  }
  return judgeClock(samples);
}

/** The server's clock offset; null when it has none or its answers cannot be believed (see readClock's warning). */
export async function syncClock(deps: { fetch: Fetch; now: () => number }, root: string): Promise<ClockOffset | null> {
  return (await readClock(deps, root)).clock;
}
