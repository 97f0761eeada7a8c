import type { Knex } from 'knex';
import { cookieAad, cookieFingerprint, CookieCipher } from '../platform/cipher';

export interface SessionRow {
  id: string;
  user_id: string;
  linkedin_member_id: string;
  li_at: string;
  li_a: string | null;
  cookie_key_id: string;
  cookie_fingerprint: string;
  user_agent: string;
  ip: string | null;
  country: string | null;
  date_last_cookie: Date;
  account_id: string | null;
  status: string;
  recovery: string;
  last_error: string | null;
  checkpoint_account_id: string | null;
  checkpoint_type: string | null;
  checkpoint_expires_at: Date | null;
  date_last_status_unipile: Date | null;
  date_last_try_connect: Date | null;
}

export interface CookieInput {
  userId: string;
  memberId: string;
  liAt: string;
  liA?: string;
  userAgent: string;
  ip?: string;
  country?: string;
}

/** Stores the extension's latest cookies for (user, member), encrypted under the newest key. */
export async function saveCookies(
  db: Knex,
  cipher: CookieCipher,
  fingerprintSecret: string,
  input: CookieInput,
): Promise<SessionRow & { previous_fingerprint: string | null }> {
  const aad = cookieAad(input.userId, input.memberId);
  const values = {
    li_at: cipher.encrypt(input.liAt, aad),
    li_a: input.liA ? cipher.encrypt(input.liA, aad) : null,
    cookie_key_id: cipher.currentKeyId,
    cookie_fingerprint: cookieFingerprint(fingerprintSecret, input.liAt),
    user_agent: input.userAgent,
    ip: input.ip ?? null,
    country: input.country ?? null,
    date_last_cookie: db.fn.now(),
  };
  // The fingerprint stored before this write (read in the same statement): the extension re-sends the same
  // cookie every few hours, and only a different one is news for the account workflow.
  const previous = db('linkedin_sessions')
    .where({ user_id: input.userId, linkedin_member_id: input.memberId })
    .select('cookie_fingerprint');
  const [row] = await db('linkedin_sessions')
    .insert({ user_id: input.userId, linkedin_member_id: input.memberId, ...values })
    .onConflict(['user_id', 'linkedin_member_id'])
    .merge(values)
    .returning(['*', db.raw('(?) as previous_fingerprint', [previous])]);
  return row as SessionRow & { previous_fingerprint: string | null };
}

export interface DecryptedCookies {
  liAt: string;
  liA?: string;
  userAgent: string;
  ip?: string;
  country?: string;
  fingerprint: string;
}

/** Decrypted cookies of a session, for the one Unipile call that needs them. Never log or return them. */
export function openSession(cipher: CookieCipher, row: SessionRow): DecryptedCookies {
  const aad = cookieAad(row.user_id, row.linkedin_member_id);
  return {
    liAt: cipher.decrypt(row.li_at, aad),
    liA: row.li_a ? cipher.decrypt(row.li_a, aad) : undefined,
    userAgent: row.user_agent,
    ip: row.ip ?? undefined,
    country: row.country ?? undefined,
    fingerprint: row.cookie_fingerprint,
  };
}

export function sessionById(db: Knex, id: string | number): Promise<SessionRow | undefined> {
  return db<SessionRow>('linkedin_sessions')
    .where({ id: String(id) })
    .first();
}

/** The session whose cookies serve an account: the most recently refreshed one. */
export function sessionForAccount(db: Knex, accountId: string): Promise<SessionRow | undefined> {
  return db<SessionRow>('linkedin_sessions')
    .where({ account_id: accountId })
    .orderBy('date_last_cookie', 'desc')
    .first();
}

/**
 * Re-encrypts every cookie not under the newest key (or still in the v1 format). Each row is rewritten only if its
 * ciphertext is still the one read (compare-and-swap), so a cookie the extension sent meanwhile is never overwritten
 * with the older one. Returns the rows actually rewritten and those skipped because they changed.
 */
export async function reencryptCookies(
  db: Knex,
  cipher: CookieCipher,
): Promise<{ rewritten: number; changedMeanwhile: number }> {
  const rows = await db<SessionRow>('linkedin_sessions').select('*');
  let rewritten = 0;
  let changedMeanwhile = 0;
  for (const row of rows) {
    if (!cipher.needsRotation(row.li_at) && !(row.li_a && cipher.needsRotation(row.li_a))) continue;
    const aad = cookieAad(row.user_id, row.linkedin_member_id);
    const updated = await db('linkedin_sessions')
      .where({ id: row.id, li_at: row.li_at })
      .update({
        li_at: cipher.encrypt(cipher.decrypt(row.li_at, aad), aad),
        li_a: row.li_a ? cipher.encrypt(cipher.decrypt(row.li_a, aad), aad) : null,
        cookie_key_id: cipher.currentKeyId,
      });
    if (updated === 1) rewritten++;
    else changedMeanwhile++;
  }
  return { rewritten, changedMeanwhile };
}
