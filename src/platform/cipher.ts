import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

export interface CipherKey {
  id: string;
  key: Buffer;
}

export class CookieDecryptError extends Error {}

/** Key ids appear in ciphertexts between dots: letters, digits, `_` and `-` only. */
export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The associated data that binds a value to its row, from its parts. v2 length-prefixes every part, so no two
 * lists of parts give the same bytes (`a:b`,`c` and `a`,`b:c` differ); v1, which joined with `:`, is only read.
 */
function associatedData(version: 'v1' | 'v2', parts: readonly string[]): Buffer {
  if (version === 'v1') return Buffer.from(parts.join(':'), 'utf8');
  return Buffer.from(parts.map((p) => `${Buffer.byteLength(p, 'utf8')}:${p}`).join(''), 'utf8');
}

/**
 * AES-256-GCM for extension cookies. Ciphertext is `v2.<keyId>.<iv>.<tag>.<data>` (base64url), so several keys can
 * be active: the first key encrypts, any known key decrypts. The associated data binds a value to its row. Only
 * full 16-byte tags and 12-byte IVs are accepted (GCM would otherwise accept a truncated tag).
 */
export class CookieCipher {
  private readonly byId: Map<string, Buffer>;

  constructor(private readonly keys: CipherKey[]) {
    if (keys.length === 0) throw new Error('at least one cookie encryption key is needed');
    const ids = new Set<string>();
    for (const { id, key } of keys) {
      if (!KEY_ID_PATTERN.test(id)) throw new Error(`cookie key id "${id.slice(0, 40)}" must match ${KEY_ID_PATTERN}`);
      if (ids.has(id)) throw new Error(`cookie key id "${id}" is given twice`);
      if (key.length !== 32) throw new Error(`cookie key "${id}" must be 32 bytes`);
      ids.add(id);
    }
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  get currentKeyId(): string {
    return this.keys[0]!.id;
  }

  encrypt(plaintext: string, aadParts: readonly string[]): string {
    const { id, key } = this.keys[0]!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData('v2', aadParts));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const parts = [iv, cipher.getAuthTag(), data].map((b) => b.toString('base64url'));
    return ['v2', id, ...parts].join('.');
  }

  decrypt(ciphertext: string, aadParts: readonly string[]): string {
    const [version, keyId, ivText, tagText, data, ...extra] = ciphertext.split('.');
    const key = keyId ? this.byId.get(keyId) : undefined;
    if ((version !== 'v1' && version !== 'v2') || !key || !ivText || !tagText || data === undefined || extra.length) {
      throw new CookieDecryptError(`cannot decrypt: unknown format or key id ${(keyId ?? '?').slice(0, 40)}`);
    }
    const iv = Buffer.from(ivText, 'base64url');
    const tag = Buffer.from(tagText, 'base64url');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
      throw new CookieDecryptError('cannot decrypt: malformed IV or authentication tag');
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(associatedData(version, aadParts));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new CookieDecryptError('cannot decrypt: authentication failed');
    }
  }

  /** Whether a ciphertext should be rewritten: under an older key, or in the v1 format. */
  needsRotation(ciphertext: string): boolean {
    const [version, keyId] = ciphertext.split('.');
    return version !== 'v2' || keyId !== this.currentKeyId;
  }

  static keyIdOf(ciphertext: string): string | undefined {
    return ciphertext.split('.')[1];
  }
}

/** Associated data of a session's cookies: a ciphertext moved to another row does not decrypt. */
export const cookieAad = (userId: string, memberId: string): readonly string[] => ['linkedin', userId, memberId];

/** A keyed hash of li_at: equal cookies have equal fingerprints; the cookie cannot be read back from it. */
export function cookieFingerprint(secret: string, liAt: string): string {
  return createHmac('sha256', secret).update(`li_at:${liAt}`).digest('base64url').slice(0, 22);
}
