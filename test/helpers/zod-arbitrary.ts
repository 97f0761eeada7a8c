// fast-check arbitraries from zod 3 schemas, for the kinds the API's schemas use. No library does this for
// fast-check 4 (zod-fast-check wants fast-check < 4). Values are mostly valid-shaped, with hostile leaves: the
// request then reaches the route's own validation instead of bouncing off a parser.
import fc from 'fast-check';
import type { ZodTypeAny } from 'zod';

export interface ZodArbitraryOptions {
  /** Chance that a leaf (string, number, enum…) is replaced by a hostile value; 0 for valid values only. */
  hostile?: number;
  /**
   * Values for some leaves, by dotted path (`AccountStatus.account_id`; `[]` for array items): ids that exist,
   * signed references. Used as given (the caller mixes in hostile values if it wants them).
   */
  overrides?: Record<string, fc.Arbitrary<unknown>>;
}

/** An own enumerable `__proto__` key, as JSON.parse makes it (an object literal would set the prototype). */
function withProtoKey(value: unknown): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  Object.defineProperty(o, '__proto__', { value, enumerable: true, configurable: true, writable: true });
  return o;
}

/** Values that broke parsers and databases before: NUL, lone surrogates, huge numbers, prototype keys, long text. */
export const hostileLeaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    '',
    ' ',
    '\u0000',
    'a\u0000b',
    '\ud800',
    'x\udfff',
    'x'.repeat(10_000),
    '1e20',
    'NaN',
    '-1',
    '../../etc/passwd',
    '<script>alert(1)</script>',
    "'; drop table users; --",
    '__proto__',
    'constructor',
    1e308,
    -1e308,
    2 ** 53 + 1,
    -1,
    0,
    1.5,
    true,
    false,
    null,
    [],
    {},
    [null],
    { constructor: { prototype: { polluted: true } } },
  ),
  fc.constant(null).map(() => withProtoKey({ polluted: true })),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.jsonValue({ maxDepth: 2 }),
);

/** Keys an object should not take: prototype keys and a stray one. */
const hostileKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'unexpected');

type Def = { typeName: string; [k: string]: any };
const defOf = (schema: ZodTypeAny): Def => schema._def as Def;

/** The schema under optional/nullable/default/effects/pipeline wrappers. */
function unwrap(schema: ZodTypeAny): ZodTypeAny {
  const def = defOf(schema);
  switch (def.typeName) {
    case 'ZodOptional':
    case 'ZodNullable':
    case 'ZodDefault':
      return unwrap(def.innerType);
    case 'ZodEffects':
      return unwrap(def.schema);
    case 'ZodPipeline':
      return unwrap(def.out);
    default:
      return schema;
  }
}

const PRIMITIVES = new Set([
  'ZodString',
  'ZodNumber',
  'ZodBoolean',
  'ZodEnum',
  'ZodNativeEnum',
  'ZodLiteral',
  'ZodBigInt',
  'ZodDate',
]);
const isPrimitive = (schema: ZodTypeAny) => PRIMITIVES.has(defOf(unwrap(schema)).typeName);

/** The object shape of a params/query/body schema (through effects), or undefined. */
export function shapeOf(schema: ZodTypeAny): Record<string, ZodTypeAny> | undefined {
  const inner = unwrap(schema);
  const def = defOf(inner);
  return def.typeName === 'ZodObject' ? (def.shape() as Record<string, ZodTypeAny>) : undefined;
}

/** Whether the object schema refuses unknown keys. */
export function isStrict(schema: ZodTypeAny): boolean {
  const def = defOf(unwrap(schema));
  return def.typeName === 'ZodObject' && def.unknownKeys === 'strict';
}

function stringArbitrary(def: Def): fc.Arbitrary<string> {
  let min = 0;
  let max: number | undefined;
  let regex: RegExp | undefined;
  let kind: 'email' | 'url' | 'datetime' | undefined;
  for (const check of (def.checks ?? []) as { kind: string; value?: number; regex?: RegExp }[]) {
    if (check.kind === 'min') min = Math.max(min, check.value!);
    else if (check.kind === 'max') max = Math.min(max ?? Infinity, check.value!);
    else if (check.kind === 'length') min = max = check.value!;
    else if (check.kind === 'regex') regex = check.regex;
    else if (check.kind === 'email' || check.kind === 'url' || check.kind === 'datetime') kind = check.kind;
  }
  const fits = (s: string) => s.length >= min && (max === undefined || s.length <= max);
  if (regex) return fc.stringMatching(regex).filter(fits);
  // Addresses every validator agrees on (zod's pattern is stricter than RFC 5322).
  if (kind === 'email') return fc.stringMatching(/^[a-z0-9]{1,12}@[a-z0-9]{1,12}\.[a-z]{2,6}$/).filter(fits);
  if (kind === 'url') return fc.webUrl().filter(fits);
  if (kind === 'datetime')
    return fc
      .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
      .map((d) => d.toISOString());
  // Short most of the time, now and then up to the maximum.
  const upper = max ?? min + 200;
  return fc.oneof(
    { weight: 6, arbitrary: fc.string({ minLength: min, maxLength: Math.min(upper, min + 24) }) },
    // Graphemes may take several UTF-16 units, which is what zod counts.
    {
      weight: 2,
      arbitrary: fc.string({ unit: 'grapheme', minLength: min, maxLength: Math.min(upper, min + 24) }).filter(fits),
    },
    { weight: 1, arbitrary: fc.integer({ min, max: upper }).map((n) => 'x'.repeat(n)) },
  );
}

function numberArbitrary(def: Def): fc.Arbitrary<number> {
  let min = -1e9;
  let max = 1e9;
  let int = false;
  for (const check of (def.checks ?? []) as { kind: string; value?: number; inclusive?: boolean }[]) {
    if (check.kind === 'min') min = check.inclusive === false ? check.value! + 1 : check.value!;
    else if (check.kind === 'max') max = check.inclusive === false ? check.value! - 1 : check.value!;
    else if (check.kind === 'int') int = true;
  }
  if (int)
    return fc.integer({ min: Math.ceil(Math.max(min, -(2 ** 53) + 1)), max: Math.floor(Math.min(max, 2 ** 53 - 1)) });
  return fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
}

/**
 * Only the values `schema` accepts, when the generator finds them often enough; a refinement it cannot guess (an
 * IPv4 address behind a refine) keeps the unfiltered values rather than looping: give an override for that path.
 */
function keepValid(arbitrary: fc.Arbitrary<unknown>, schema: ZodTypeAny): fc.Arbitrary<unknown> {
  const tried = fc.sample(arbitrary, { numRuns: 50, seed: 1 });
  const passing = tried.filter((v) => schema.safeParse(v).success).length;
  return passing >= 10 ? arbitrary.filter((v) => schema.safeParse(v).success) : arbitrary;
}

function build(schema: ZodTypeAny, path: string[], options: Required<ZodArbitraryOptions>): fc.Arbitrary<unknown> {
  const override = options.overrides[path.join('.')];
  if (override) return override;
  const valid = validOf(schema, path, options);
  // Leaves are where hostile values go; containers keep their shape and pass the chance on to their children.
  if (options.hostile > 0 && isPrimitive(schema)) {
    const weight = Math.max(1, Math.round(options.hostile * 100));
    return fc.oneof({ weight: 100 - weight, arbitrary: valid }, { weight, arbitrary: hostileLeaf });
  }
  return valid;
}

function validOf(schema: ZodTypeAny, path: string[], options: Required<ZodArbitraryOptions>): fc.Arbitrary<unknown> {
  const def = defOf(schema);
  switch (def.typeName) {
    case 'ZodString':
      return stringArbitrary(def);
    case 'ZodNumber':
      return numberArbitrary(def);
    case 'ZodBigInt':
      return fc.bigInt();
    case 'ZodBoolean':
      return fc.boolean();
    case 'ZodDate':
      return fc.date({ noInvalidDate: true });
    case 'ZodLiteral':
      return fc.constant(def.value);
    case 'ZodEnum':
      return fc.constantFrom(...(def.values as unknown[]));
    case 'ZodNativeEnum':
      return fc.constantFrom(...Object.values(def.values as object));
    case 'ZodNull':
      return fc.constant(null);
    case 'ZodUndefined':
      return fc.constant(undefined);
    case 'ZodAny':
    case 'ZodUnknown':
      return fc.jsonValue({ maxDepth: 2 });
    case 'ZodOptional':
    case 'ZodDefault':
      return fc.option(validOf(def.innerType, path, options), { nil: undefined, freq: 4 });
    case 'ZodNullable':
      return fc.option(validOf(def.innerType, path, options), { nil: null, freq: 6 });
    case 'ZodEffects': {
      // Refinements and transforms: generated from the inner schema; a primitive is kept only if the whole passes
      // (a refine on text, say), so that valid stays valid. Containers are not filtered: their leaves may be hostile.
      const inner = validOf(def.schema, path, options);
      return isPrimitive(def.schema) ? keepValid(inner, schema) : inner;
    }
    case 'ZodPipeline': {
      const out = validOf(def.out, path, options);
      return isPrimitive(def.out) ? keepValid(out, def.in) : out;
    }
    case 'ZodArray': {
      const min = (def.minLength?.value as number | undefined) ?? 0;
      const max = (def.maxLength?.value as number | undefined) ?? min + 4;
      return fc.array(build(def.type, [...path, '[]'], options), { minLength: min, maxLength: Math.min(max, min + 4) });
    }
    case 'ZodUnion':
    case 'ZodDiscriminatedUnion': {
      const members = (def.options as ZodTypeAny[]) ?? [...(def.optionsMap as Map<unknown, ZodTypeAny>).values()];
      return fc.oneof(...members.map((m) => validOf(m, path, options)));
    }
    case 'ZodRecord':
      return fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), build(def.valueType, [...path, '*'], options), {
        maxKeys: 4,
      });
    case 'ZodObject': {
      const shape = def.shape() as Record<string, ZodTypeAny>;
      const fields = Object.fromEntries(
        Object.entries(shape).map(([key, field]) => [key, build(field, [...path, key], options)]),
      );
      const object = fc.record(fields).map((o) => {
        // An optional field left out is absent, as a client would send it.
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
        return out;
      });
      if (options.hostile === 0) return object;
      // Now and then a required field is missing or a key the schema does not know is added.
      const chance = Math.max(1, Math.round(options.hostile * 100));
      return fc.oneof(
        { weight: 100 - 2 * chance, arbitrary: object },
        {
          weight: chance,
          arbitrary: fc
            .tuple(object, hostileKey, hostileLeaf)
            .map(([o, key, v]) => (key === '__proto__' ? Object.assign(withProtoKey(v), o) : { ...o, [key]: v })),
        },
        {
          weight: chance,
          arbitrary: fc.tuple(object, fc.nat()).map(([o, n]) => {
            const keys = Object.keys(o);
            if (!keys.length) return o;
            const { [keys[n % keys.length]!]: _dropped, ...rest } = o;
            return rest;
          }),
        },
      );
    }
    case 'ZodLazy':
      return validOf(def.getter(), path, options);
    default:
      // A kind our schemas do not use yet: any JSON, so the route's validation says what it thinks of it.
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Values for `schema`: valid-shaped, with a hostile leaf now and then (`hostile`, default 0.05 per leaf). */
export function zodArbitrary(schema: ZodTypeAny, options: ZodArbitraryOptions = {}): fc.Arbitrary<unknown> {
  return build(schema, [], { hostile: options.hostile ?? 0.05, overrides: options.overrides ?? {} });
}
