/** Streams and signal of {@link runCli}. */
export interface CliContext {
  /** Results. */
  stdout: NodeJS.WritableStream;
  /** Progress and errors. */
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Input for `complete` and `tokens count` without a file. */
  stdin?: NodeJS.ReadableStream;
  /** Cancels the command (the bin wires SIGINT and SIGTERM to it). */
  signal?: AbortSignal;
  /** The directory relative paths and dependencies resolve from. Default `process.cwd()`. */
  cwd?: string;
  /**
   * Environment variables (`OPENAI_BASE_URL`, `OPENAI_API_KEY`, `OPENAI_MODEL`, `CODESTACK_API_KEY`,
   * `CODESTACK_SERVER_API_KEY`); the commands read the environment only through this, never
   * `process.env`. Default: none (the `codestack` bin passes `process.env`).
   */
  environment?: Readonly<Record<string, string | undefined>>;
}
