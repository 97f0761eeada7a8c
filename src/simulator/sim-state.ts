// The simulator's state and vocabulary: accounts, webhooks, hosted links, intents, what was called and delivered, and
// the interface its route modules use (they never import the class, which composes them).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Response } from 'express';
import type { Outcome } from './scripting';

export interface SimAccount {
  object: 'Account';
  id: string;
  type: string;
  name: string;
  created_at: string;
  groups: string[];
  connection_params: Record<string, unknown>;
  sources: { id: string; status: string }[];
}

export interface SimWebhook {
  object: 'Webhook';
  id: string;
  type: 'AUTO';
  source: string;
  name?: string;
  request_url: string;
  format: 'json' | 'form';
  enabled: boolean;
  headers: { key: string; value: string }[];
  account_ids: { id: string }[];
  events: string[];
  data: unknown[];
}

export interface HostedLink {
  token: string;
  type: 'create' | 'reconnect';
  providers: string[] | string;
  reconnect_account?: string;
  expiresOn: string;
  name?: string;
  notify_url?: string;
  success_redirect_url?: string;
  failure_redirect_url?: string;
}

export interface RecordedCall {
  method: string;
  path: string;
  body: unknown;
  at: string;
}

export interface Delivery {
  webhookId: string;
  url: string;
  body: unknown;
  attempts: { status: number | null; at: string }[];
  delivered: boolean;
}

export interface SimulatorOptions {
  apiKey: string;
  port?: number;
  host?: string;
  /** Base delay between webhook retries; Unipile's schedule is undocumented (incremental). */
  webhookRetryDelayMs?: number;
  /** Keeps accounts and webhooks across restarts (npm run dev). */
  stateFile?: string;
  /** A waiting WhatsApp/Telegram QR code is replaced by a new one when read this long after it was issued. */
  qrRotateMs?: number;
}

export const MS_ISO = /^[1-2]\d{3}-[0-1]\d-[0-3]\dT\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const PROVIDER_TYPES: Record<string, string> = {
  LINKEDIN: 'LINKEDIN',
  WHATSAPP: 'WHATSAPP',
  INSTAGRAM: 'INSTAGRAM',
  MESSENGER: 'MESSENGER',
  TELEGRAM: 'TELEGRAM',
  GOOGLE: 'GOOGLE_OAUTH',
  OUTLOOK: 'OUTLOOK',
  MAIL: 'MAIL',
  IMAP: 'MAIL',
  TWITTER: 'TWITTER',
};
export const STATUS_MESSAGES = new Set(['OK', 'CREDENTIALS', 'PERMISSIONS', 'ERROR', 'STOPPED', 'CONNECTING']);

export const newId = (): string => randomBytes(16).toString('base64url').slice(0, 22);
export const nowIso = (): string => new Date().toISOString();
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function errorBody(status: number, type: string, title: string, detail?: string) {
  return { status, type: `errors/${type}`, title, ...(detail ? { detail } : {}) };
}

/** An authentication intent waiting for its next step, by the account id Unipile gave it. */
export interface Intent {
  accountId: string;
  kind: 'create' | 'reconnect';
  /** The account type the account gets (LINKEDIN, MAIL, WHATSAPP…). */
  accountType: string;
  name: string;
  checkpointType: string;
  /** What solves the current checkpoint (a code, a contract id); undefined: nothing typed solves it. */
  code?: string;
  source?: string;
  contractOptions?: { id: string; name: string }[];
  /** Checkpoints that follow this one once solved. */
  chain: Outcome[];
  /** What TRY_ANOTHER_WAY switches to. */
  alternative?: Outcome;
  qrcode?: string;
  qrIssuedAt?: number;
}

/** What the route modules use of the simulator. */
export interface SimulatorCore {
  readonly options: SimulatorOptions;
  readonly url: string;
  readonly accounts: Map<string, SimAccount>;
  readonly webhooks: Map<string, SimWebhook>;
  readonly links: Map<string, HostedLink>;
  readonly intents: Map<string, Intent>;
  readonly calls: RecordedCall[];
  readonly deliveries: Delivery[];
  script(operation: string, outcomes: Outcome[], accountId?: string): void;
  setDefault(operation: string, outcome: Outcome): void;
  nextOutcome(operation: string, accountId?: string): Outcome;
  applyOutcome(outcome: Outcome, res: Response): Promise<boolean>;
  errorBody(status: number, type: string, title: string, detail?: string): object;
  createAccount(input: { type: string; name?: string; id?: string; status?: string }): SimAccount;
  setStatus(accountId: string, status: string): void;
  emitStatus(accountId: string, message: string, accountType?: string): void;
  /** Accounts the provider restricted: restart, reconnect and checkpoint solving answer 403 account_restricted. */
  readonly restricted: Set<string>;
  /** Accounts whose LinkedIn cookie reconnects answer 403 with this type (times: how many more; null: all). */
  readonly mismatched: Map<string, { type: string; times: number | null }>;
  /** Runs `send` later (provider failures spread over time); dropped by reset and stop. */
  later(ms: number, send: () => void): void;
  /** While held, account_status webhooks wait; releasing sends them in order. */
  holdWebhooks(held: boolean): number;
  reset(): void;
}

/** The error types Unipile answers a LinkedIn cookie reconnect whose cookie belongs to another member with. */
export const MISMATCH_TYPES = ['account_mismatch', 'wrong_account', 'session_mismatch'];

/**
 * The 403 a restricted account (or a mismatched cookie reconnect) gets instead of its normal answer, if any; a
 * mismatch set for a number of calls is used up here.
 */
export function refusal(
  sim: SimulatorCore,
  operation: 'restart' | 'reconnect' | 'cookie_reconnect' | 'checkpoint',
  accountId: string,
): object | undefined {
  if (sim.restricted.has(accountId)) {
    return errorBody(
      403,
      'account_restricted',
      'Account restricted',
      'The provider restricted this account; its owner must verify their identity with the provider.',
    );
  }
  const mismatch = operation === 'cookie_reconnect' ? sim.mismatched.get(accountId) : undefined;
  if (!mismatch) return undefined;
  if (mismatch.times !== null && --mismatch.times <= 0) sim.mismatched.delete(accountId);
  return errorBody(403, mismatch.type, 'Account mismatch', 'The cookie belongs to another account.');
}

/** Accounts and webhooks kept across restarts (npm run dev's state file). */
export function loadState(file: string | undefined): { accounts: SimAccount[]; webhooks: SimWebhook[] } {
  if (!file || !existsSync(file)) return { accounts: [], webhooks: [] };
  return JSON.parse(readFileSync(file, 'utf8')) as { accounts: SimAccount[]; webhooks: SimWebhook[] };
}

export function saveState(file: string | undefined, accounts: SimAccount[], webhooks: SimWebhook[]): void {
  if (file) writeFileSync(file, JSON.stringify({ accounts, webhooks }, null, 2));
}
