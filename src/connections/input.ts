// What the backend sends to connect or reconnect an account by custom authentication, and to answer a
// step. One strict schema per provider: a misspelt field is a 400 naming it, never silently dropped.
import { z } from 'zod';
import { storableText } from '../platform/ids';

const secretText = (max: number) => z.string().min(1).max(max);
const host = storableText().pipe(
  z
    .string()
    .min(1)
    .max(253)
    .regex(/^[A-Za-z0-9.-]+$/, 'must be a host name'),
);
const port = z.number().int().min(1).max(65535);

const credentials = (provider: 'LINKEDIN' | 'INSTAGRAM' | 'MESSENGER' | 'TWITTER') =>
  z.strictObject({
    provider: z.literal(provider),
    username: storableText().pipe(z.string().min(1).max(320)),
    password: secretText(1024),
  });

export const connectionBody = z.discriminatedUnion('provider', [
  credentials('LINKEDIN'),
  credentials('INSTAGRAM'),
  credentials('MESSENGER'),
  credentials('TWITTER'),
  z.strictObject({
    provider: z.literal('MAIL'),
    imap_host: host,
    imap_port: port,
    imap_user: storableText().pipe(z.string().min(1).max(320)),
    imap_password: secretText(1024),
    smtp_host: host,
    smtp_port: port,
    smtp_user: storableText().pipe(z.string().min(1).max(320)),
    smtp_password: secretText(1024),
  }),
  z.strictObject({ provider: z.literal('WHATSAPP') }),
  z.strictObject({ provider: z.literal('TELEGRAM') }),
]);
export type ConnectionBody = z.infer<typeof connectionBody>;
export const CUSTOM_AUTH_PROVIDERS = ['LINKEDIN', 'INSTAGRAM', 'MESSENGER', 'TWITTER', 'MAIL', 'WHATSAPP', 'TELEGRAM'];

/** The account types Unipile reports for a custom-auth provider (reconnecting checks the account is one). */
export const ACCOUNT_TYPES: Record<string, string[]> = {
  LINKEDIN: ['LINKEDIN'],
  INSTAGRAM: ['INSTAGRAM'],
  MESSENGER: ['MESSENGER'],
  TWITTER: ['TWITTER'],
  MAIL: ['MAIL', 'IMAP'],
  WHATSAPP: ['WHATSAPP'],
  TELEGRAM: ['TELEGRAM'],
};

/** One answer to the current step; `phone` as Unipile wants it, the dial code in brackets. */
export const stepBody = z.union(
  [
    z.strictObject({ code: storableText().pipe(z.string().trim().min(1).max(100)) }),
    z.strictObject({
      phone: z
        .string()
        .regex(/^\(\+\d{1,4}\)\d{4,15}$/, 'must be the dial code in brackets then digits: (+33)612345678'),
    }),
    z.strictObject({ contractId: storableText().pipe(z.string().min(1).max(200)) }),
    z.strictObject({ action: z.enum(['try_another_way', 'resend']) }),
  ],
  {
    errorMap: (issue, ctx) =>
      issue.code === 'invalid_union'
        ? { message: 'send exactly one of code, phone, contractId or action (try_another_way, resend)' }
        : { message: ctx.defaultError },
  },
);
export type StepBody = z.infer<typeof stepBody>;
