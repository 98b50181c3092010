/** An error meant for the user: one line saying what is wrong and what is valid. Only cli.ts prints it. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = 2,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** Exit codes shared by every command. */
export const EXIT = { ok: 0, failure: 1, badInput: 2, sigint: 130, sigterm: 143 } as const;
