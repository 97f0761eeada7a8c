// The checks a route descriptor names in `auth`, and how each appears in the OpenAPI document.
import type { NextFunction, Request, Response } from 'express';
import { secretEquals } from '../../platform/tokens';
import { extensionUserOf } from '../extension/auth';
import type { ApiDeps } from './deps';
import { HttpError } from './errors';

/**
 * `backendToken`: API_TOKEN as a bearer token. `extensionToken`: a user's extension token. `backendOrExtensionToken`:
 * either (the extension's user must then own what the route touches: the route checks). `unipileAuth`: the webhook
 * secret in Unipile-Auth. `none`: public, or a signed link the route checks in its own middleware.
 */
export type AuthName = 'backendToken' | 'extensionToken' | 'backendOrExtensionToken' | 'unipileAuth' | 'none';

export type Caller = { by: 'backend' } | { by: 'extension'; userId: string } | { by: 'unipile' } | { by: 'anyone' };

/** The OpenAPI security schemes that satisfy each check (any one of them suffices). */
export const SECURITY: Record<AuthName, ('backendToken' | 'extensionToken' | 'unipileAuth')[]> = {
  backendToken: ['backendToken'],
  extensionToken: ['extensionToken'],
  backendOrExtensionToken: ['backendToken', 'extensionToken'],
  unipileAuth: ['unipileAuth'],
  none: [],
};

const bearerOf = (req: Request): string | undefined => {
  const header = req.header('authorization') ?? '';
  return header.startsWith('Bearer ') ? header.slice(7) : undefined;
};

const isBackend = (req: Request, deps: ApiDeps): boolean => secretEquals(bearerOf(req), deps.config.API_TOKEN);

/** Who is calling, by the route's check; a 401 when the check fails. */
export async function authenticate(auth: AuthName, req: Request, deps: ApiDeps): Promise<Caller> {
  const { config, db } = deps;
  switch (auth) {
    case 'none':
      return { by: 'anyone' };
    case 'backendToken':
      if (isBackend(req, deps)) return { by: 'backend' };
      throw new HttpError(401, 'unauthorized', 'Missing or wrong bearer token');
    case 'backendOrExtensionToken':
      if (isBackend(req, deps)) return { by: 'backend' };
      return { by: 'extension', userId: await extensionUserOf(db, req, config.EXTENSION_TOKEN_TTL) };
    case 'extensionToken':
      return { by: 'extension', userId: await extensionUserOf(db, req, config.EXTENSION_TOKEN_TTL) };
    case 'unipileAuth':
      if (secretEquals(req.header('unipile-auth'), config.UNIPILE_WEBHOOK_SECRET)) return { by: 'unipile' };
      throw new HttpError(401, 'unauthorized', 'Missing or wrong Unipile-Auth header');
  }
}

/**
 * After every route: a path under /api that no route served answers 401 without the backend token, as if a route
 * were there (which paths exist is not told to strangers), then 404. The extension's paths and the checkpoint take
 * an extension token instead, so they fall through to the 404.
 */
export function unmatchedApiGuard(apiToken: string) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (req.path.startsWith('/extension/')) return next();
    if (secretEquals(bearerOf(req), apiToken)) return next();
    if (req.method === 'POST' && CHECKPOINT_PATH.test(req.path)) return next();
    throw new HttpError(401, 'unauthorized', 'Missing or wrong bearer token');
  };
}

/** The checkpoint route, as seen by middleware mounted at /api. */
const CHECKPOINT_PATH = /^\/accounts\/[^/]+\/checkpoint$/;
