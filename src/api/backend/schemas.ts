// What the backend's routes accept and answer. Requests are validated with these schemas; answers are checked
// against them in test/integration/openapi.test.ts, so the OpenAPI document tells what is really sent.
import { z } from 'zod';
import { accountIdSchema, storableText, userIdSchema } from '../../platform/ids';
import { connectionBody } from '../../connections/input';
import { canonicalLocale } from '../../i18n';

export const accountParams = z.object({ accountId: accountIdSchema });
export const userParams = z.object({ userId: userIdSchema });
export const connectionParams = z.object({
  connectionId: z.string().regex(/^conn_[A-Za-z0-9_-]{22}$/, 'must be a connection id (conn_…)'),
});
export const tokenParams = z.object({
  userId: userIdSchema,
  tokenId: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER),
});
export const receiptParams = z.object({ receiptId: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });

export const userBody = z.object({
  email: storableText().pipe(z.string().email()),
  name: storableText().pipe(z.string().max(200)).optional(),
  /** BCP 47 (`fr-FR`): the language of the user's emails and pages; stored in canonical form by the route. */
  locale: z
    .string()
    .max(100)
    .refine((v) => canonicalLocale(v) !== null, 'must be a BCP 47 language tag, such as fr-FR')
    .nullable()
    .optional(),
});
const PROVIDERS = [
  'LINKEDIN',
  'WHATSAPP',
  'INSTAGRAM',
  'MESSENGER',
  'TELEGRAM',
  'GOOGLE',
  'OUTLOOK',
  'MAIL',
  'TWITTER',
  'IMAP',
] as const;
/** Where a browser is sent after the wizard: an http(s) address only (never `javascript:` or `data:`). */
const webUrl = z
  .string()
  .max(2048)
  .url()
  // Zod runs refinements even after url() failed: an unparseable value must not throw here.
  .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), {
    message: 'must be an http or https URL',
  });
export const linkBody = z
  .object({
    providers: z.union([z.literal('*'), z.array(z.enum(PROVIDERS)).min(1)]).optional(),
    successRedirectUrl: webUrl.optional(),
    failureRedirectUrl: webUrl.optional(),
  })
  .strict();
export const reconnectLinkBody = linkBody.omit({ providers: true });
/**
 * Reconnecting an account: no body (or one without `provider`) runs a recovery attempt now; a provider body
 * reconnects in place by custom authentication and is validated as such.
 */
export const reconnectBody = z.preprocess(
  (v) => (v !== null && typeof v === 'object' && 'provider' in v ? v : undefined),
  connectionBody.optional(),
);
export const eventsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
});
export const healthQuery = z.strictObject({ fresh: z.enum(['true', 'false']).optional() });
export const accountQuery = z.strictObject({ live: z.enum(['true', 'false']).optional() });
export const receiptsQuery = z.strictObject({
  state: z.enum(['dead', 'pending', 'forwarded']).default('dead'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  before: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
});

// Answers. Timestamps are sent as ISO 8601 (a Date from the database is serialised so).
const timestamp = z.preprocess((v) => (v instanceof Date ? v.toISOString() : v), z.string().datetime({ offset: true }));
const page = <T extends z.ZodTypeAny>(item: T) =>
  z.strictObject({ items: z.array(item), nextCursor: z.number().int().nullable() });

export const userAnswer = z.strictObject({
  userId: z.string(),
  email: z.string(),
  name: z.string().nullable(),
  locale: z.string().nullable(),
});
export const linkAnswer = z.strictObject({ url: z.string().url(), expiresAt: timestamp });

export const accountAnswer = z.strictObject({
  accountId: z.string(),
  userId: z.string().nullable(),
  provider: z.string().nullable(),
  name: z.string().nullable(),
  status: z.string(),
  recovery: z.string(),
  workflowId: z.string(),
  lastUpdate: timestamp,
  createdOn: timestamp,
  nextAttemptAt: z.string().nullable(),
  nextEmailAt: z.string().nullable(),
  lastError: z.string().nullable(),
});
export const accountsAnswer = z.strictObject({ items: z.array(accountAnswer) });
/** One recovery attempt, as the account workflow records it. */
const attemptRecord = z.object({
  n: z.number().int(),
  of: z.number().int(),
  action: z.string(),
  trigger: z.string(),
  at: z.string(),
  outcome: z.string(),
  errorType: z.string().optional(),
  reason: z.string().optional(),
  fingerprint: z.string().optional(),
});
/** The account workflow's view (fields may be added by later code generations: not strict). */
const accountView = z.object({
  accountId: z.string(),
  provider: z.string().nullable(),
  userId: z.string().nullable(),
  status: z.string(),
  recovery: z.string(),
  incident: z
    .object({
      id: z.number(),
      kind: z.string(),
      openedAt: z.string(),
      attempts: z.array(attemptRecord),
      attemptsOmitted: z.number().optional(),
      maxAttempts: z.number(),
      emails: z.array(z.unknown()),
      restricted: z.boolean().optional(),
      mismatch: z.boolean().optional(),
    })
    .nullable(),
  nextAttemptAt: z.string().nullable(),
  nextEmailAt: z.string().nullable(),
  lastError: z.string().nullable(),
  cookieAt: z.string().nullable().optional(),
  completed: z.boolean().optional(),
  paused: z.object({ since: z.string(), until: z.string().nullable(), reason: z.string() }).nullable().optional(),
  emailHeld: z.object({ provider: z.string(), incidentId: z.number(), since: z.string() }).nullable().optional(),
});

/** POST /api/accounts/:accountId/pause. */
export const pauseBody = z.strictObject({
  until: z.string().datetime({ offset: true }).nullable().optional(),
  reason: z.string().trim().min(1).max(500),
});
/** The account's view right after a pause or a resume, as the workflow answered. */
export const pauseAnswer = z.strictObject({ accountId: z.string(), workflow: accountView });
/** The account with its workflow's view: stored (live false) or asked of the workflow (live true). */
export const accountWithViewAnswer = accountAnswer.extend({
  workflow: accountView.nullable(),
  live: z.boolean(),
});
export const eventsAnswer = page(
  z.strictObject({ id: z.number().int(), type: z.string(), data: z.unknown(), occurredAt: timestamp }),
);
export const healthAnswer = z.strictObject({ usable: z.boolean(), status: z.string(), checkedAt: timestamp });
export const deletedAnswer = z.strictObject({ accountId: z.string(), status: z.literal('DELETED') });
export const attemptAnswer = z.strictObject({ accountId: z.string(), attempt: attemptRecord });

const connectionStep = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('connecting') }),
  z.strictObject({ type: z.literal('connected'), accountId: z.string() }),
  z.strictObject({
    type: z.literal('checkpoint'),
    checkpoint: z.string(),
    source: z.string().optional(),
    options: z.array(z.strictObject({ id: z.string(), name: z.string() })).optional(),
    expiresAt: z.string(),
  }),
  // The QR code's payload to show, read from its encrypted copy.
  z.strictObject({ type: z.literal('qrcode'), expiresAt: z.string(), qrcode: z.string().optional() }),
  // `message`: what the user should do, for the failures that need more than trying again.
  z.strictObject({ type: z.literal('failed'), error: z.string(), message: z.string().optional() }),
]);
export const connectionAnswer = z.strictObject({ connectionId: z.string(), step: connectionStep });
export const connectionReadAnswer = connectionAnswer.extend({ userId: z.string(), provider: z.string() });

export const connectionsAnswer = z.strictObject({
  items: z.array(
    z.union([
      z.strictObject({
        id: z.string(),
        method: z.literal('cookies'),
        provider: z.literal('LINKEDIN'),
        memberId: z.string(),
        step: z.string(),
        recovery: z.string(),
        lastError: z.string().nullable(),
        lastCookieAt: timestamp,
        checkpoint: z
          .strictObject({ accountId: z.string(), type: z.string(), expiresAt: z.string().nullable() })
          .nullable(),
      }),
      z.strictObject({
        id: z.string(),
        method: z.enum(['custom_auth', 'custom_auth_reconnect']),
        provider: z.string(),
        step: z.string(),
        checkpoint: z.strictObject({ type: z.string(), expiresAt: z.string() }).nullable(),
      }),
    ]),
  ),
});

export const receiptsAnswer = page(
  z.strictObject({
    id: z.number().int(),
    source: z.string(),
    accountId: z.string().nullable(),
    message: z.string().nullable(),
    state: z.string(),
    receivedAt: timestamp,
    attempts: z.number().int(),
    lastError: z.string().nullable(),
  }),
);
export const replayedAnswer = z.strictObject({ id: z.number().int(), state: z.literal('pending') });
export const staleAnswer = z.strictObject({
  id: z.number().int(),
  state: z.literal('forwarded'),
  outcome: z.literal('stale'),
});

export const tokenAnswer = z.strictObject({
  token: z.string(),
  tokenId: z.string(),
  userId: z.string(),
  expiresAt: timestamp,
});
export const tokensAnswer = z.strictObject({
  items: z.array(
    z.strictObject({
      tokenId: z.string(),
      createdAt: timestamp,
      lastUsedAt: timestamp.nullable(),
      expiresAt: timestamp,
    }),
  ),
});
export const revokedAnswer = z.strictObject({ revoked: z.number().int() });
