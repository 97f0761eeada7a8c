// npm run cookies:rotate: re-encrypts every stored extension cookie under the first key of COOKIE_ENCRYPTION_KEY.
// Rotation: put the new key first and keep the old ones after it, deploy, run this, then drop the old keys.
import { loadConfigPart } from '../platform/config';
import { CookieCipher } from '../platform/cipher';
import { reencryptCookies } from '../linkedin/sessions';
import { createDb } from '../platform/db';

async function main(): Promise<void> {
  const config = loadConfigPart(['DATABASE_URL', 'COOKIE_ENCRYPTION_KEY']);
  const db = createDb(config.DATABASE_URL);
  try {
    const cipher = new CookieCipher(config.COOKIE_ENCRYPTION_KEY);
    const { rewritten, changedMeanwhile } = await reencryptCookies(db, cipher);
    // A row that changed meanwhile was written by the API under the current key already.
    console.log(
      `re-encrypted ${rewritten} session(s) under key ${cipher.currentKeyId}` +
        (changedMeanwhile ? `; ${changedMeanwhile} changed meanwhile and were left as written` : ''),
    );
  } finally {
    await db.destroy();
  }
}

main().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exit(1);
});
