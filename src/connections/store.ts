import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { CookieCipher } from '../platform/cipher';
import type { ConnectionStep } from '../workflows/connection/contract';

/** A custom-authentication connection row (migration 20261129000007). */
export interface ConnectionRow {
  id: string;
  user_id: string;
  provider: string;
  kind: 'create' | 'reconnect';
  account_id: string | null;
  /** Set for a cookie connection: the LinkedIn session whose cookies it uses. */
  session_id: string | null;
  step: ConnectionStep;
  state: 'pending' | 'connected' | 'failed' | 'expired';
  expires_at: Date | null;
  credentials_ciphertext: string | null;
  answer_ciphertext: string | null;
  /** When the answer being checked was written (one answer per step at a time). */
  answer_claimed_at: Date | null;
  qrcode_ciphertext: string | null;
  created_at: Date;
}

/** The secrets a connection may hold for a while, each bound to its connection and its purpose. */
export type ConnectionSecret = 'credentials' | 'answer' | 'qrcode';
const aad = (connectionId: string, secret: ConnectionSecret) => ['connection', connectionId, secret] as const;

export const sealSecret = (cipher: CookieCipher, connectionId: string, secret: ConnectionSecret, value: string) =>
  cipher.encrypt(value, aad(connectionId, secret));
export const openSecret = (cipher: CookieCipher, connectionId: string, secret: ConnectionSecret, sealed: string) =>
  cipher.decrypt(sealed, aad(connectionId, secret));

/** Unguessable: a connection id is what the backend uses to answer steps. */
export const newConnectionId = (): string => `conn_${randomBytes(16).toString('base64url')}`;

export async function connectionById(db: Knex, id: string): Promise<ConnectionRow | undefined> {
  return (await db<ConnectionRow>('connections').where({ id }).first()) as ConnectionRow | undefined;
}

/** Final states erase every secret the connection held. */
export const ERASED = {
  credentials_ciphertext: null,
  answer_ciphertext: null,
  answer_claimed_at: null,
  qrcode_ciphertext: null,
} as const;

/** An answer, once Unipile has checked it (or it could not be sent): erased, and the step free for the next one. */
export const ANSWER_ERASED = { answer_ciphertext: null, answer_claimed_at: null } as const;
