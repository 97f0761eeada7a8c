// Where workflows and activities run. Importing this pulls in no I/O, so it is safe inside the sandbox.

/** TEMPORAL_TASK_QUEUE's default. */
export const DEFAULT_TASK_QUEUE = 'unipile-accounts';

/** Activities that call Unipile run here, rate-limited across workers (UNIPILE_MAX_RPS). */
export const unipileTaskQueue = (taskQueue: string): string => `${taskQueue}-unipile`;
