import { z } from 'zod';

/**
 * Free text that PostgreSQL can store: no NUL (text columns refuse it) and no lone surrogate (jsonb refuses it).
 * Either would otherwise fail at the insert, a 500 or 503 for input that is simply invalid. Here, in src/common,
 * because the extension's request schemas use it too.
 */
export const storableText = () =>
  z.string().refine((v) => !v.includes('\0') && !/\p{Cs}/u.test(v), 'must not contain NUL or unpaired surrogates');
