// What the browser extension sends to the API and what it gets back, in one place: the API validates with these
// schemas and documents them, the extension imports their types only (`import type`, nothing of zod in its bundle).
import { z } from 'zod';
import { storableText } from './text';

/** A dotted-quad IPv4 address, as node:net's isIP(v) === 4 accepts it (kept free of Node: the extension reads it). */
const IPV4_PART = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])';
const IPV4 = new RegExp(`^(?:${IPV4_PART}\\.){3}${IPV4_PART}$`);

/** POST /api/extension/linkedin-cookies */
export const cookieBody = z
  .object({
    li_at: z.string().min(10, 'must be the li_at cookie value').max(4096),
    li_a: z.string().min(1).max(4096).optional(),
    user_agent: storableText().pipe(z.string().min(1).max(1024)),
    // Short enough that the connection's workflow id stays under Temporal's 255 characters.
    linkedin_member_id: storableText().pipe(z.string().min(1).max(100)),
    ip: z
      .string()
      .refine((v) => IPV4.test(v), 'must be an IPv4 address')
      .optional(),
    country: z
      .string()
      .regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166 alpha-2 code')
      .transform((v) => v.toUpperCase())
      .optional(),
    // Optional: an extension may say which user it believes it acts for; it must be the token's user.
    userId: z.string().min(1).optional(),
  })
  .strict();
/** What the extension sends (before the API's normalisation). */
export type CookieBody = z.input<typeof cookieBody>;

/** A checkpoint waiting for its code, as clients see it. */
export const checkpointView = z.strictObject({
  accountId: z.string(),
  type: z.string(),
  expiresAt: z.string().datetime({ offset: true }).nullable(),
});

/**
 * The cookie post's answer (202): the account's state once the cookies belong to one (`accountId`), else where the
 * connection they started stands, with any checkpoint waiting for a code.
 */
export const cookieAnswer = z.strictObject({
  accountId: z.string().nullable(),
  status: z.string(),
  recovery: z.string(),
  checkpoint: checkpointView.nullable().optional(),
});
export type CookieAnswer = z.infer<typeof cookieAnswer>;

/** POST /api/accounts/:accountId/checkpoint */
export const checkpointBody = z.object({ code: storableText().pipe(z.string().trim().min(1).max(100)) }).strict();
export type CheckpointBody = z.input<typeof checkpointBody>;

/** The checkpoint answer (200): connected, or another checkpoint to answer (its type). */
export const checkpointAnswer = z.discriminatedUnion('outcome', [
  z.strictObject({ outcome: z.literal('connected'), accountId: z.string() }),
  z.strictObject({ outcome: z.literal('checkpoint'), accountId: z.string(), checkpointType: z.string() }),
]);
export type CheckpointAnswer = z.infer<typeof checkpointAnswer>;
