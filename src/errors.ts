/**
 * What went wrong, as kinds. Domain code throws these; only cli.ts decides what a kind means for the process (its exit
 * code, how it is printed). Stream problems are not errors: they are events with a fatal flag (client/events.ts).
 *
 * - BadInput: what the user gave is wrong; the message says what is valid. Nothing was started or written.
 * - Unavailable: something vat needs is not there or does not answer (a server, a file, a tool, the cloud).
 * - Interrupted: a signal asked vat to stop before the work was done.
 * - Failed: the work was tried and did not succeed (a stream that could not be measured, a task that stopped).
 */
export type ErrorKind = "bad-input" | "unavailable" | "interrupted" | "failed";

export class VatError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    /** For "interrupted": the signal that asked. */
    readonly signal: string | null = null,
  ) {
    super(message);
    this.name = "VatError";
  }
}

export const badInput = (message: string) => new VatError("bad-input", message);
export const unavailable = (message: string) => new VatError("unavailable", message);
export const failed = (message: string) => new VatError("failed", message);
export const interrupted = (signal: string, message: string) => new VatError("interrupted", message, signal);

/** Exit codes shared by every command. */
export const EXIT = { ok: 0, failure: 1, badInput: 2, sigint: 130, sigterm: 143 } as const;

/** The exit code a signal asks for: 128 + its number, as shells report it. */
export function exitCodeForSignal(signal: string | null): number {
  return signal === "SIGINT" ? EXIT.sigint : signal === "SIGTERM" ? EXIT.sigterm : EXIT.failure;
}

/** The exit code of an error of a kind. Used by cli.ts only. */
export function exitCodeFor(err: VatError): number {
  switch (err.kind) {
    case "bad-input":
      return EXIT.badInput;
    case "interrupted":
      return exitCodeForSignal(err.signal);
    case "unavailable":
    case "failed":
      return EXIT.failure;
  }
}
