import { createHash } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { sendError } from './errors';

/**
 * A per-minute limit answered with our own 429 body and Retry-After. Counts are kept in this process (two API
 * processes allow twice the limit): the point is to stop one source flooding the service, not exact quotas.
 * `limit` 0 turns it off.
 */
function perMinute(limit: number, key: (req: Request) => string, what: string): RequestHandler {
  if (limit <= 0) return (_req, _res, next) => next();
  return rateLimit({
    windowMs: 60_000,
    limit,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: key,
    // `trust proxy` is the deployment's choice (a load balancer sets X-Forwarded-For); not second-guessed here.
    validate: { trustProxy: false, xForwardedForHeader: false },
    handler: (req, res) => {
      const reset = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const seconds = reset ? Math.max(1, Math.ceil((reset.getTime() - Date.now()) / 1000)) : 60;
      res.setHeader('Retry-After', String(seconds));
      sendError(res, 429, 'rate_limited', `Too many ${what}; retry in ${seconds} s`);
    },
  });
}

/**
 * Webhooks per source address and route (Unipile's retries and a flood from one address alike). Keyed by the route
 * Express matched, not the raw path: `/Webhooks/…` and `…/account-status/` reach the same handler (routing ignores
 * case and a trailing slash), so they must spend the same budget.
 */
export function webhookRateLimit(limit: number): RequestHandler {
  return perMinute(
    limit,
    (req) => `${routeOf(req)}:${ipKeyGenerator(req.ip ?? 'unknown')}`,
    'webhook calls from this address',
  );
}

/** The matched route's pattern (set while its handlers run); the lower-cased path without trailing slashes else. */
function routeOf(req: Request): string {
  const pattern = (req.route as { path?: unknown } | undefined)?.path;
  return typeof pattern === 'string' ? pattern : req.path.toLowerCase().replace(/\/+$/, '');
}

/**
 * Cookie posts per source address, then per presented extension token (hashed; counted before the token is
 * checked). The address comes first: a flood of random tokens from one address is cut there, before each new token
 * would add an entry to the per-token counts.
 */
export function extensionRateLimit(limit: number): RequestHandler[] {
  const presented = (req: Request): string => {
    const header = req.header('authorization') ?? '';
    return createHash('sha256').update(header).digest('base64url');
  };
  return [
    // Unknown or missing tokens from one address share one budget a little larger than a token's own.
    perMinute(limit * 4, (req) => ipKeyGenerator(req.ip ?? 'unknown'), 'cookie posts from this address'),
    perMinute(limit, presented, 'cookie posts for this extension token'),
  ];
}

/**
 * Reconnect page opens with a valid signed link, per source address (4×) then per account: each open may ask
 * Unipile for a hosted link, so neither one emailed link nor one address may loop on it. Invalid links are refused
 * before (an HMAC check), so random ones add no entry here.
 */
export function reconnectPageRateLimit(limit: number): RequestHandler[] {
  return [
    perMinute(limit * 4, (req) => ipKeyGenerator(req.ip ?? 'unknown'), 'reconnect page opens from this address'),
    perMinute(limit, (req) => String(req.params.accountId), 'reconnect page opens for this account'),
  ];
}
