import type { NextFunction, Request, Response } from 'express';
import { z, type ZodError } from 'zod';
import { DomainError, type DomainErrorKind } from '../../platform/errors';
import type { Logger } from '../../platform/logger';

/** An error answered to the caller as `{"error": {"code", "message"}}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds after which a retry may succeed (sent as Retry-After with 429 and 503). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** The status each kind of domain error is answered with. */
const STATUS_OF_KIND: Record<DomainErrorKind, number> = {
  invalid: 400,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  busy: 409,
  expired: 410,
  rate_limited: 429,
  unavailable: 503,
};

/** Codes answered with another status than their kind's: a wrong code is well-formed, so not a 400. */
const STATUS_OF_CODE: Record<string, number> = { invalid_checkpoint_solution: 422 };

/** The HTTP status a domain error is answered with. */
export function statusOf(err: DomainError): number {
  return STATUS_OF_CODE[err.code] ?? STATUS_OF_KIND[err.kind];
}

/** The error as it will be answered, when it is one we answer (an HttpError, or a DomainError mapped here). */
export function asHttpError(err: unknown): HttpError | undefined {
  if (err instanceof HttpError) return err;
  if (err instanceof DomainError) return new HttpError(statusOf(err), err.code, err.message, err.retryAfterSeconds);
  return undefined;
}

export function sendError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

/** A 400 naming every invalid field: `AccountStatus.account_id: Required`. */
/** A 400 naming each invalid field; an issue about the whole part (an unknown key, say) names the part. */
export function validationError(error: ZodError, part: 'params' | 'query' | 'body' = 'body'): HttpError {
  const problems = error.issues.map((i) => `${i.path.length ? i.path.join('.') : part}: ${i.message}`);
  return new HttpError(400, 'invalid_request', problems.join('; '));
}

/** The error body every refusal is answered with. */
export const errorBody = z.strictObject({ error: z.strictObject({ code: z.string(), message: z.string() }) });

/** Last middleware: known errors become their status, body-parser errors a 4xx, anything else a bare 500. */
export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const known = asHttpError(err);
    if (known) {
      if (known.retryAfterSeconds !== undefined) {
        res.setHeader('Retry-After', String(Math.ceil(known.retryAfterSeconds)));
      }
      return sendError(res, known.status, known.code, known.message);
    }
    const e = err as { type?: string; status?: number };
    if (e.type === 'entity.parse.failed')
      return sendError(res, 400, 'malformed_json', 'Request body is not valid JSON');
    if (e.type === 'entity.too.large') return sendError(res, 413, 'too_large', 'Request body is too large');
    if (e.type === 'charset.unsupported' || e.type === 'encoding.unsupported') {
      return sendError(res, 415, 'unsupported_media_type', 'Unsupported body encoding');
    }
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      return sendError(res, e.status, 'bad_request', 'Bad request');
    }
    logger.error({ err: (err as Error)?.message, path: req.path }, 'unhandled error');
    sendError(res, 500, 'internal', 'Internal error');
  };
}
