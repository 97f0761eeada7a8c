// How tests and `npm run dev` script the simulator's answers (POST /_sim/script, UnipileSimulator.script).

/** A scripted answer for the next call of an operation. */
export interface Outcome {
  /**
   * succeed: the normal success; fail: the operation's own failure answer (restart: AccountFailedToRestart;
   * connect/reconnect: 401 invalid_credentials); checkpoint: a Checkpoint answer; http_error: an error body.
   */
  result: 'succeed' | 'fail' | 'checkpoint' | 'http_error';
  status?: number;
  type?: string;
  delayMs?: number;
  /**
   * For checkpoint: its type (2FA, OTP, IN_APP_VALIDATION, PHONE_REGISTER, CAPTCHA, CONTRACT_CHOOSER) and the code
   * that solves it (a contract id for CONTRACT_CHOOSER; any "(+NN)digits" number for PHONE_REGISTER).
   */
  checkpointType?: string;
  code?: string;
  /** For checkpoint: 2FA's source (SMS, APP), CONTRACT_CHOOSER's options. */
  source?: string;
  contractOptions?: { id: string; name: string }[];
  /** For checkpoint: the checkpoints that follow once this one is solved (chained challenges). */
  then?: Outcome[];
  /** For checkpoint: what the code TRY_ANOTHER_WAY switches to. */
  alternative?: Outcome;
  /** For list_accounts: this page holds at most this many accounts (whatever `limit` the caller asked for). */
  pageSize?: number;
  /** For list_accounts: this page ends the listing (`cursor: null`) even when accounts are left (a truncated list). */
  lastPage?: boolean;
  /**
   * For list_accounts: the page lists these accounts instead of the workspace's, as an API key of another workspace
   * would see (the test scripts get_account to answer 404 for ours too).
   */
  items?: Record<string, unknown>[];
  /** For list_accounts: this account is deleted at Unipile right after the page is answered (no webhook sent). */
  deleteAfter?: string;
}
