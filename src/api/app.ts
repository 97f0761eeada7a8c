import express from 'express';
import helmet from 'helmet';
import type { ApiDeps } from './http/deps';
import { unmatchedApiGuard } from './http/auth';
import { errorHandler, HttpError, sendError } from './http/errors';
import { mountRoutes } from './http/route';
import { API_ROUTES, OPERATION_ROUTES, WEBHOOK_ROUTES } from './routes';
import { UnipileBudgetError } from '../unipile/unipile-api';

/** TRUST_PROXY as Express takes it: a hop count, true/false, or a list of names and addresses. */
export function trustProxySetting(value: string): boolean | number | string[] {
  if (/^\d+$/.test(value)) return Number(value);
  if (value === 'true' || value === 'false') return value === 'true';
  return value.split(',').map((v) => v.trim());
}

export function createApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Only a proxy we were told about may name the client (X-Forwarded-For): anyone else could pick the address that
  // rate limits count and that the extension's session is stored with.
  app.set('trust proxy', trustProxySetting(deps.config.TRUST_PROXY));
  // Pages and answers carry signed links and account data: nothing is framed, cached, sniffed or sent as a
  // referrer, and pages run no script and load nothing from elsewhere.
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'none'"],
          styleSrc: ["'unsafe-inline'"],
          imgSrc: ["'self'"],
          baseUri: ["'none'"],
          formAction: ["'none'"],
          frameAncestors: ["'none'"],
        },
      },
      frameguard: { action: 'deny' },
      referrerPolicy: { policy: 'no-referrer' },
      strictTransportSecurity: false, // set by the TLS-terminating proxy, which knows whether HTTPS is in use
    }),
  );
  app.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  // Every answer is timed by route pattern (never the raw path: ids would make a series each).
  app.use((req, res, next) => {
    const end = deps.metrics.httpDuration.startTimer();
    res.once('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      end({ method: req.method, route, code: String(res.statusCode) });
    });
    next();
  });
  app.use(mountRoutes(OPERATION_ROUTES, deps));

  // Webhooks parse their own bodies (Unipile may omit the JSON content type); everything else is JSON.
  app.use(mountRoutes(WEBHOOK_ROUTES, deps));
  app.use(express.json({ limit: '64kb' }));
  app.use((req, _res, next) => {
    const hasBody = ['POST', 'PUT', 'PATCH'].includes(req.method) && Number(req.headers['content-length'] ?? 0) > 0;
    if (hasBody && !req.is('application/json')) {
      throw new HttpError(415, 'unsupported_media_type', 'Send the body as application/json');
    }
    next();
  });
  app.use(mountRoutes(API_ROUTES, deps));
  app.use('/api', unmatchedApiGuard(deps.config.API_TOKEN));
  app.use((_req, res) => sendError(res, 404, 'not_found', 'No such route'));
  // This process's Unipile budget (UNIPILE_API_MAX_RPS) refused the call, nothing was sent: retry once it refills.
  app.use((err: unknown, _req: express.Request, res: express.Response, next: express.NextFunction) => {
    if (!(err instanceof UnipileBudgetError)) return next(err);
    res.setHeader('Retry-After', String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))));
    sendError(res, 429, 'rate_limited', 'Too many calls to Unipile from this service; retry shortly');
  });
  app.use(errorHandler(deps.logger));
  return app;
}
