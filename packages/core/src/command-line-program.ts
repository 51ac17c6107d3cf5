/** What a command-line program's main function receives. */
export interface CommandLineProgramContext {
  /** Aborted on SIGINT or SIGTERM, so the running command can stop cleanly. */
  signal: AbortSignal;
}

/**
 * Runs the main function of a command-line program (a package's bin, never a library call): SIGINT
 * and SIGTERM abort `context.signal`, the returned number becomes `process.exitCode`, and when the
 * reader of stdout or stderr goes away (`codestack … | head -1`), the program ends at once, quietly,
 * with exit code 0, as a Unix tool ends on SIGPIPE. Only bins call this: it installs process
 * handlers, which a library must not.
 */
export async function runCommandLineProgram(main: (context: CommandLineProgramContext) => Promise<number>): Promise<void> {
  const controller = new AbortController();
  for (const signalName of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signalName, () => controller.abort(new Error(`received ${signalName}`)));
  }
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      // The reader closed the pipe: nobody wants more output, so stop now and say nothing.
      if (error.code === 'EPIPE') process.exit(0);
      throw error;
    });
  }
  process.exitCode = await main({ signal: controller.signal });
}
