// One descriptor per route: what it accepts, who may call it, what it answers. The same descriptors are mounted on
// Express (mountRoutes) and described in /openapi.json (openapi.ts), so a served route cannot be undocumented.
import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { z, ZodTypeAny } from 'zod';
import type { ApiDeps } from './deps';
import { authenticate, type AuthName, type Caller } from './auth';
import { HttpError, validationError } from './errors';

export type Audience = 'backend' | 'extension' | 'webhooks' | 'pages' | 'operations';
export type Method = 'get' | 'post' | 'put' | 'delete';

/**
 * What one status answers: a zod schema (JSON, validated in the tests against real answers), `html` or `text`
 * (sent by the handler itself), or null (no body: 204, 302).
 */
export type ResponseSpec = ZodTypeAny | 'html' | 'text' | null;
export type Responses = Record<number, ResponseSpec>;

/** A JSON answer the handler returns for the route to send, typed by the route's response schemas. */
export type Reply<R extends Responses> = {
  [S in keyof R & number]: R[S] extends ZodTypeAny
    ? { status: S; body: z.input<R[S]> }
    : R[S] extends null
      ? { status: S }
      : never;
}[keyof R & number];

type ObjectSchema = z.AnyZodObject | z.ZodEffects<z.AnyZodObject>;
type Parsed<T> = T extends ZodTypeAny ? z.output<T> : undefined;

export interface RouteInput<P, Q, B> {
  params: Parsed<P>;
  query: Parsed<Q>;
  body: Parsed<B>;
}

export interface RouteContext {
  deps: ApiDeps;
  req: Request;
  res: Response;
  /** Who the route's auth let in. */
  caller: Caller;
}

export interface RouteSpec<
  P extends ObjectSchema | undefined,
  Q extends ObjectSchema | undefined,
  B extends ZodTypeAny | undefined,
  R extends Responses,
> {
  method: Method;
  /** Express pattern (`/api/accounts/:accountId`); `{accountId}` in the OpenAPI document. */
  path: string;
  audience: Audience;
  auth: AuthName;
  summary: string;
  params?: P;
  query?: Q;
  body?: B;
  /**
   * The body arrives as text (any content type) and is read as JSON here: Unipile's webhooks may come without the
   * JSON content type. The route's `use` must include a text body parser.
   */
  rawJsonBody?: boolean;
  responses: R;
  /**
   * Statuses the route refuses with the error body, besides the ones every route may answer (400 for input that
   * fails a schema, 401 when it has auth).
   */
  errors: readonly number[];
  /** Middleware run before auth and parsing (rate limits, a body parser, a signed-link check). */
  use?: (deps: ApiDeps) => RequestHandler[];
  /** Told when the caller was refused (auth) or the input failed its schema: for the route's own counters. */
  onRefused?: (deps: ApiDeps, why: 'unauthorized' | 'invalid') => void;
  /** Returns the JSON answer to send, or nothing when it answered itself (HTML, text, redirect). */
  handler: (input: RouteInput<P, Q, B>, ctx: RouteContext) => Promise<Reply<NoInfer<R>> | void>;
}

// Descriptors of different shapes in one list: each was type-checked by defineRoute.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Route = RouteSpec<any, any, any, Responses>;

/** A route descriptor, its handler typed by its schemas. */
export function defineRoute<
  P extends ObjectSchema | undefined = undefined,
  Q extends ObjectSchema | undefined = undefined,
  B extends ZodTypeAny | undefined = undefined,
  R extends Responses = Responses,
>(spec: RouteSpec<P, Q, B, R>): Route {
  return spec as unknown as Route;
}

/** Validates one part of the request: a 400 naming every invalid field (absent parts are read as `{}`). */
export function parse<T extends ZodTypeAny>(schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) throw validationError(parsed.error);
  return parsed.data as z.output<T>;
}

/** A text body read as JSON; an empty one is a missing body. */
function parseJson(raw: unknown): unknown {
  if (typeof raw !== 'string' || raw.trim() === '') throw new HttpError(400, 'invalid_request', 'body: Required');
  try {
    return JSON.parse(raw);
  } catch {
    throw new HttpError(400, 'malformed_json', 'Request body is not valid JSON');
  }
}

/** Params, query and body, in that order, each by its schema. */
function readInput(route: Route, req: Request, deps: ApiDeps): { params: unknown; query: unknown; body: unknown } {
  const part = (name: 'params' | 'query' | 'body', schema: ZodTypeAny | undefined, value: () => unknown) => {
    if (!schema) return undefined;
    const parsed = schema.safeParse(value());
    if (parsed.success) return parsed.data as unknown;
    route.onRefused?.(deps, 'invalid');
    throw validationError(parsed.error, name);
  };
  return {
    params: part('params', route.params, () => req.params ?? {}),
    query: part('query', route.query, () => req.query ?? {}),
    // A request without a body is checked as `{}`, so that the 400 names the missing fields.
    body: part('body', route.body, () => (route.rawJsonBody ? parseJson(req.body) : (req.body ?? {}))),
  };
}

/** A router serving the descriptors: their middleware, then auth, then parsing, then the handler. */
export function mountRoutes(routes: readonly Route[], deps: ApiDeps): Router {
  const router = Router();
  for (const route of routes) {
    const serve: RequestHandler = async (req, res) => {
      const caller = await authenticate(route.auth, req, deps).catch((err: unknown) => {
        route.onRefused?.(deps, 'unauthorized');
        throw err;
      });
      const input = readInput(route, req, deps);
      // Typed against the route's schemas in defineRoute; erased in the list.
      const reply = (await route.handler(input as never, { deps, req, res, caller })) as
        { status: number; body?: unknown } | undefined;
      if (!reply) return;
      if ('body' in reply) res.status(reply.status).json(reply.body);
      else res.status(reply.status).end();
    };
    router[route.method](route.path, ...(route.use?.(deps) ?? []), serve);
  }
  return router;
}

/** `/a/:b` as OpenAPI writes it: `/a/{b}`. */
export const openApiPath = (path: string): string => path.replace(/:(\w+)/g, '{$1}');
