/**
 * Wall-clock pacing. Frame n is due at startMs + n * 1000 / fps, computed from the start every time, so rounding
 * never accumulates into drift however long the server runs. Pure.
 */
export function frameDueMs(startMs: number, fps: number, frameNumber: number): number {
  return startMs + (frameNumber * 1000) / fps;
}

/** The frame whose slot contains nowMs. */
export function frameAt(startMs: number, fps: number, nowMs: number): number {
  return Math.floor(((nowMs - startMs) * fps) / 1000);
}

/**
 * What to do for the next frame: wait for its slot, render it, or skip ahead when the producer has fallen more
 * than maxLagFrames behind (the skipped frames are lost at the source, as a live camera would lose them).
 */
export function nextStep(
  startMs: number,
  fps: number,
  nextFrame: number,
  nowMs: number,
  maxLagFrames: number,
): { kind: "wait"; ms: number } | { kind: "render"; frame: number; skipped: number } {
  const due = frameDueMs(startMs, fps, nextFrame);
  if (nowMs < due) return { kind: "wait", ms: due - nowMs };
  const current = frameAt(startMs, fps, nowMs);
  if (current - nextFrame > maxLagFrames) return { kind: "render", frame: current, skipped: current - nextFrame };
  return { kind: "render", frame: nextFrame, skipped: 0 };
}
