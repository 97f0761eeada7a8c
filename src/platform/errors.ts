// What a service tells its caller when it refuses or cannot do something, without knowing who the caller is: the
// HTTP layer (src/api/http/errors.ts) turns the kind into a status; other callers read the kind.

/** Why the request was not done. */
export type DomainErrorKind =
  /** The input is wrong in a way a schema could not see: send something else. */
  | 'invalid'
  /** The thing named does not exist (or is not visible to this caller). */
  | 'not_found'
  /** The thing exists but is in a state that refuses this request. */
  | 'conflict'
  /** Another request is being handled for the same thing: retry once it is done. */
  | 'busy'
  /** The thing waited too long and is gone for good: start again. */
  | 'expired'
  /** The caller may not do this to this thing. */
  | 'forbidden'
  /** Too many requests: retry later. */
  | 'rate_limited'
  /** A service this one needs could not be reached: retry later. */
  | 'unavailable';

/** A refusal with its public code and message: both may be shown to the caller, so they never carry a secret. */
export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    /** Stable, machine-readable (`account_owned`, `step_busy`…). */
    readonly code: string,
    message: string,
    /** Seconds after which a retry may succeed. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
