import { z } from 'zod';

// Identifiers are checked at the edge, before anything is stored, so no stored event can carry an id
// that Temporal or Unipile would refuse (or that would reach another Unipile endpoint).

/** Unipile account ids: short opaque strings (22 characters of [A-Za-z0-9_-] today). */
export const accountIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of A-Z, a-z, 0-9, _ or -');

/** Our user ids: 1-128 printable characters, no `/`. */
export const userIdSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  // Printable: no control characters (NUL included), no lone surrogates; `/` would break paths and ids.
  .refine((v) => !/[\p{Cc}\p{Cs}/]/u.test(v), 'must be printable characters without /');

// Free text PostgreSQL can store: defined in src/common, which the browser extension shares.
export { storableText } from '../common/text';
