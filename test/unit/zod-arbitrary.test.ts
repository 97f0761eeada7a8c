import fc from 'fast-check';
import { z } from 'zod';
import { connectionBody, stepBody } from '../../src/connections/input';
import { cookieBody, checkpointBody } from '../../src/common/extension-api';
import { linkBody, reconnectBody, receiptsQuery, tokenParams, userBody } from '../../src/api/backend/schemas';
import { accountStatusBody, hostedAuthBody } from '../../src/api/webhooks/routes';
import { isStrict, shapeOf, zodArbitrary } from '../helpers/zod-arbitrary';

// The IPv4 refine cannot be guessed from the schema: the abuse test gives it addresses, so does this one.
const OVERRIDES: Record<string, Record<string, fc.Arbitrary<unknown>>> = {
  cookieBody: { ip: fc.option(fc.ipV4(), { nil: undefined }) },
  // A refine the generator cannot guess: a BCP 47 tag.
  userBody: { locale: fc.option(fc.constantFrom('fr-FR', 'en', 'de-DE', 'es-419'), { nil: undefined }) },
};
const share = (schema: z.ZodTypeAny, hostile: number, overrides = {}) => {
  const values = fc.sample(zodArbitrary(schema, { hostile, overrides }), { numRuns: 300, seed: 42 });
  return values.filter((v) => schema.safeParse(v).success).length / values.length;
};

const kinds = z.strictObject({
  id: z.string().regex(/^[a-z]{3}_[0-9]{4}$/),
  name: z.string().min(2).max(10),
  email: z.string().email(),
  url: z.string().url().optional(),
  kind: z.enum(['a', 'b']),
  fixed: z.literal('x'),
  n: z.number().int().min(1).max(5),
  ratio: z.number().min(0).max(1),
  coerced: z.coerce.number().int().positive(),
  flag: z.boolean(),
  maybe: z.string().nullable(),
  list: z
    .array(z.enum(['p', 'q']))
    .min(1)
    .max(3),
  either: z.union([z.literal('*'), z.number().int()]),
  tagged: z.discriminatedUnion('t', [
    z.strictObject({ t: z.literal('one') }),
    z.strictObject({ t: z.literal('two'), v: z.boolean() }),
  ]),
  refined: z
    .string()
    .min(1)
    .refine((s) => !s.includes('/'), 'no slash'),
  piped: z
    .string()
    .refine((s) => !s.includes('\0'))
    .pipe(z.string().min(1).max(8)),
  loose: z.object({ inner: z.string().max(3) }),
});

describe('zod-arbitrary', () => {
  test('with no hostile leaves, every kind our schemas use gives values the schema accepts', () => {
    expect(share(kinds, 0)).toBe(1);
  });

  test.each([
    ['connectionBody', connectionBody],
    ['stepBody', stepBody],
    ['cookieBody', cookieBody],
    ['checkpointBody', checkpointBody],
    ['linkBody', linkBody],
    ['reconnectBody', reconnectBody],
    ['userBody', userBody],
    ['receiptsQuery', receiptsQuery],
    ['tokenParams', tokenParams],
    ['accountStatusBody', accountStatusBody],
    ['hostedAuthBody', hostedAuthBody],
  ] as const)('the API schema %s: valid values parse; hostile leaves make some fail but most parse', (name, schema) => {
    expect(share(schema, 0, OVERRIDES[name])).toBe(1);
    const withHostile = share(schema, 0.05, OVERRIDES[name]);
    expect(withHostile).toBeGreaterThan(0.5);
    expect(withHostile).toBeLessThan(1);
  });

  test('hostile leaves include NUL, lone surrogates, prototype keys and wrong types', () => {
    const values = fc.sample(zodArbitrary(z.strictObject({ a: z.string(), b: z.number() }), { hostile: 0.5 }), {
      numRuns: 500,
      seed: 7,
    }) as Record<string, unknown>[];
    const texts = values.map((v) => JSON.stringify(v));
    expect(texts.some((t) => t.includes('\\u0000'))).toBe(true);
    expect(texts.some((t) => t.includes('\\ud800'))).toBe(true);
    expect(texts.some((t) => t.includes('"__proto__"'))).toBe(true);
    expect(values.some((v) => typeof v.a === 'number' || typeof v.b === 'string')).toBe(true);
  });

  test('overrides put chosen values at their path', () => {
    const values = fc.sample(
      zodArbitrary(accountStatusBody, { hostile: 0, overrides: { 'AccountStatus.account_id': fc.constant('acc_1') } }),
      { numRuns: 50, seed: 1 },
    ) as { AccountStatus: { account_id: string } }[];
    expect(new Set(values.map((v) => v.AccountStatus.account_id))).toEqual(new Set(['acc_1']));
  });

  test('shapeOf and isStrict read through effects', () => {
    expect(Object.keys(shapeOf(tokenParams)!)).toEqual(['userId', 'tokenId']);
    expect(isStrict(linkBody)).toBe(true);
    expect(isStrict(accountStatusBody)).toBe(false);
    expect(shapeOf(z.string())).toBeUndefined();
  });
});
