import type { NextFunction, Request, Response } from 'express';
import type { ZodError } from 'zod';
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

export function sendError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

/** A 400 naming every invalid field: `AccountStatus.account_id: Required`. */
export function validationError(error: ZodError): HttpError {
  const problems = error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`);
  return new HttpError(400, 'invalid_request', problems.join('; '));
}

/** Last middleware: known errors become their status, body-parser errors a 4xx, anything else a bare 500. */
export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    if (err instanceof HttpError) {
      if (err.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(Math.ceil(err.retryAfterSeconds)));
      return sendError(res, err.status, err.code, err.message);
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
