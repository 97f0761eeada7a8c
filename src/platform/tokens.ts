import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a signed token stands for; a token made for one purpose is refused for any other. */
export type TokenPurpose = 'hosted-auth' | 'user' | 'landing' | 'reconnect';

interface TokenPayload {
  p: TokenPurpose;
  sub: string;
  exp: number; // epoch seconds
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

function mac(secret: string, body: string): Buffer {
  return createHmac('sha256', secret).update(body).digest();
}

/** A compact HMAC-signed token: `base64url(json).base64url(hmac)`. Tamper-evident, not encrypted. */
export function signToken(
  secret: string,
  purpose: TokenPurpose,
  subject: string,
  ttlMs: number,
  now = Date.now(),
): string {
  const body = b64url(JSON.stringify({ p: purpose, sub: subject, exp: Math.floor((now + ttlMs) / 1000) }));
  return `${body}.${b64url(mac(secret, body))}`;
}

/** The token's subject, or null when it is malformed, forged, expired or made for another purpose. */
export function verifyToken(secret: string, purpose: TokenPurpose, token: unknown, now = Date.now()): string | null {
  if (typeof token !== 'string') return null;
  const [body, sig, extra] = token.split('.');
  if (!body || !sig || extra !== undefined) return null;
  const expected = mac(secret, body);
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as TokenPayload;
    if (payload.p !== purpose || typeof payload.sub !== 'string' || payload.exp * 1000 < now) return null;
    return payload.sub;
  } catch {
    return null;
  }
}

/** Constant-time comparison of a presented secret with the expected one. */
export function secretEquals(presented: unknown, expected: string): boolean {
  if (typeof presented !== 'string') return false;
  // Hash both sides so lengths match and the comparison time says nothing about the secret.
  const a = createHmac('sha256', 'compare').update(presented).digest();
  const b = createHmac('sha256', 'compare').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Reconnect links (in emails and on the landing page) stay valid this long; each click makes a fresh hosted link. */
const RECONNECT_LINK_TTL_MS = 30 * 24 * 3_600_000;

/** The path of an account's reconnect page, with its signed token; prefix PUBLIC_BASE_URL for emails. */
export function reconnectLinkPath(signingSecret: string, accountId: string, now = Date.now()): string {
  const token = signToken(signingSecret, 'reconnect', accountId, RECONNECT_LINK_TTL_MS, now);
  return `/accounts/${encodeURIComponent(accountId)}/reconnect?token=${token}`;
}
