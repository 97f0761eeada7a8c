import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

export interface CipherKey {
  id: string;
  key: Buffer;
}

export class CookieDecryptError extends Error {}

/**
 * AES-256-GCM for extension cookies. Ciphertext is `v1.<keyId>.<iv>.<tag>.<data>` (base64url), so several keys can
 * be active: the first key encrypts, any known key decrypts. The associated data binds a value to its row.
 */
export class CookieCipher {
  private readonly byId: Map<string, Buffer>;

  constructor(private readonly keys: CipherKey[]) {
    if (keys.length === 0) throw new Error('at least one cookie encryption key is needed');
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  get currentKeyId(): string {
    return this.keys[0]!.id;
  }

  encrypt(plaintext: string, associatedData: string): string {
    const { id, key } = this.keys[0]!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const parts = [iv, cipher.getAuthTag(), data].map((b) => b.toString('base64url'));
    return ['v1', id, ...parts].join('.');
  }

  decrypt(ciphertext: string, associatedData: string): string {
    const [version, keyId, iv, tag, data] = ciphertext.split('.');
    const key = keyId ? this.byId.get(keyId) : undefined;
    if (version !== 'v1' || !key || !iv || !tag || data === undefined) {
      throw new CookieDecryptError(`cannot decrypt: unknown format or key id ${keyId ?? '?'}`);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(associatedData, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new CookieDecryptError('cannot decrypt: authentication failed');
    }
  }

  static keyIdOf(ciphertext: string): string | undefined {
    return ciphertext.split('.')[1];
  }
}

/** Associated data of a session's cookies: a ciphertext moved to another row does not decrypt. */
export const cookieAad = (userId: string, memberId: string): string => `linkedin:${userId}:${memberId}`;

/** A keyed hash of li_at: equal cookies have equal fingerprints; the cookie cannot be read back from it. */
export function cookieFingerprint(secret: string, liAt: string): string {
  return createHmac('sha256', secret).update(`li_at:${liAt}`).digest('base64url').slice(0, 22);
}
