import { createHash } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { sendError } from './http-errors';

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

/** Webhooks per source address and route (Unipile's retries and a flood from one address alike). */
export function webhookRateLimit(limit: number): RequestHandler {
  return perMinute(
    limit,
    (req) => `${req.path}:${ipKeyGenerator(req.ip ?? 'unknown')}`,
    'webhook calls from this address',
  );
}

/**
 * Cookie posts per presented extension token (hashed; counted before the token is checked, so random tokens from
 * one address are also limited through the address).
 */
export function extensionRateLimit(limit: number): RequestHandler[] {
  const presented = (req: Request): string => {
    const header = req.header('authorization') ?? '';
    return createHash('sha256').update(header).digest('base64url');
  };
  return [
    perMinute(limit, presented, 'cookie posts for this extension token'),
    // Unknown or missing tokens from one address share one budget a little larger than a token's own.
    perMinute(limit * 4, (req) => ipKeyGenerator(req.ip ?? 'unknown'), 'cookie posts from this address'),
  ];
}
