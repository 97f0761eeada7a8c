// Retry and timeout presets for every activity a workflow calls, in one place so they cannot drift apart. Pure
// values (no I/O): safe inside the workflow sandbox. Retry options are recorded when an activity is scheduled, but
// replay does not compare them, so a change here needs no `patched()`. Which task queue an activity runs on is decided by the proxy (./activities).
import type { Duration, RetryPolicy } from '@temporalio/common';
import type { RecoveryPolicy } from './account/contract';

/** A timeout and a retry policy; the task queue is the proxy's business. */
export interface ActivityPreset {
  startToCloseTimeout: Duration;
  retry: RetryPolicy;
}

const preset = (p: ActivityPreset): ActivityPreset => p;

// No preset lists nonRetryableErrorTypes: an activity that knows a retry cannot help says so itself, returning the
// final answer as a value (a refused restart, a wrong code) or throwing ApplicationFailure.nonRetryable (a listing
// refused for a wrong API key). What activities throw as retryable (Unipile's network errors, 5xx, 429; EmailFailed,
// EmailInFlight; database errors) is worth retrying.

/**
 * Our own records from a workflow that must never stop: retried until the database answers, with backoff capped at a
 * minute. The account workflow, the LinkedIn cookie connection, a connection's last record, and a confirmed
 * reconciliation hold use it.
 */
export const BOOKKEEPING = preset({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
});

/**
 * Our own records from a flow someone is watching (a connection, a reconciliation run): a database outage of a few
 * minutes ends it with an outcome (the connection failed and erased, the run incomplete) rather than leaving it
 * waiting. Every workflow using it catches the ActivityFailure and takes its last-record or incomplete path.
 */
export const BOOKKEEPING_BOUNDED = preset({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
});

/**
 * Waking the accounts a closed provider incident held: pages of signals for about a minute per call, so a longer
 * timeout than one row's write, with a heartbeat per page so a worker that died mid-way is noticed within a minute
 * rather than at the timeout. Retried like BOOKKEEPING: held emails must go out whatever the outage.
 */
export const BOOKKEEPING_PAGED = {
  ...BOOKKEEPING,
  startToCloseTimeout: '3m',
  heartbeatTimeout: '1m',
} satisfies ActivityPreset & { heartbeatTimeout: Duration };

/** Reconciliation's database steps go over a whole listing at once: longer than a single row's write. */
export const overListing = <P extends ActivityPreset>(p: P): P => ({ ...p, startToCloseTimeout: '2m' });

/**
 * A Unipile call nobody waits on (recovery attempts, reconciliation): a few tries with backoff over transient
 * failures (network, 5xx, 429); final answers come back as values. The hourly business retries are workflow timers,
 * not this policy. The timeout covers one HTTP request (UNIPILE_REQUEST_TIMEOUT plus a margin, when the workflow
 * knows it).
 */
export const unipileInBackground = (callTimeout: Duration = '2m') =>
  preset({
    startToCloseTimeout: callTimeout,
    retry: {
      initialInterval: '2s',
      backoffCoefficient: 2,
      maximumInterval: '30s',
      maximumAttempts: 4,
    },
  });

/**
 * A Unipile call a user waits on (a connection's steps, answered synchronously): tried briefly, so the user hears
 * "Unipile is unavailable" within a minute or so instead of a hanging request.
 */
export const UNIPILE_WHILE_USER_WAITS = preset({
  startToCloseTimeout: '1m',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '10s',
    maximumAttempts: 3,
  },
});

/**
 * An account email, from the configured policy (EMAIL_SEND_TIMEOUT, EMAIL_RETRY_INTERVAL, EMAIL_SEND_ATTEMPTS):
 * SMTP may be down for a while. Past its tries the email is recorded as failed and sent again one retry interval
 * later by the workflow, never a failed workflow.
 */
export const email = (policy: RecoveryPolicy) =>
  preset({
    startToCloseTimeout: policy.emailSendTimeoutMs ?? '1m',
    retry: {
      initialInterval: policy.emailRetryInitialMs ?? 5000,
      maximumInterval: '5m',
      maximumAttempts: policy.emailSendAttempts ?? 20,
    },
  });
