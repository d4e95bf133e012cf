/** The subset of a pino logger the work-queue adapters use (a pino `Logger` satisfies it). */
export interface WorkQueueLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}
