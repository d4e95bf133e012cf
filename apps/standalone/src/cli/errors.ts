/** An error the CLI reports as one clear line (`vigil: <message>`) and exit code 1, without a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
