import { signToken } from '../../src/platform/tokens';
import { Stack, waitFor } from '../helpers/stack';

// Emails and pages in the user's language, through the real pipeline: the backend stores a locale, Unipile reports
// the account broken, the email arrives at the SMTP peer; the pages are read as a browser reads them.
describe("emails and pages in the user's language", () => {
  // The first email waits no settle time here: the case is about its words, not its timing.
  const stack = new Stack({ env: { EMAIL_SETTLE: '0s' } });
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());

  const mailsTo = (email: string) => stack.smtp.messages.filter((m) => m.to.includes(email));

  /** A user with this locale (omitted: none) and a connected Gmail account, OK. */
  async function userWithAccount(userId: string, locale?: string) {
    const put = await stack.api$('PUT', `/api/users/${userId}`, {
      email: `${userId}@example.test`,
      name: 'Zoé',
      ...(locale === undefined ? {} : { locale }),
    });
    expect(put.status).toBe(200);
    const { accountId, landing } = await stack.connectViaWizard(userId, 'GOOGLE');
    await waitFor(async () => (await stack.accountRow(accountId))?.status === 'OK', 30_000, `${accountId} OK`);
    return { accountId, landing, put: put.json };
  }

  test('PUT /api/users/:userId stores the locale in canonical form; an invalid one is a 400', async () => {
    const ok = await stack.api$('PUT', '/api/users/canon', { email: 'canon@example.test', locale: 'fr-fr' });
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ userId: 'canon', email: 'canon@example.test', name: null, locale: 'fr-FR' });

    for (const locale of ['not a locale', 'fr_FR', '', 42]) {
      const bad = await stack.api$('PUT', '/api/users/canon', { email: 'canon@example.test', locale });
      expect(bad.status).toBe(400);
      expect(bad.json.error.code).toBe('invalid_request');
      expect(bad.json.error.message).toMatch(/^locale: /);
    }
    // Refused requests changed nothing.
    expect((await stack.db('users').where({ id: 'canon' }).first()).locale).toBe('fr-FR');

    // Like the name, a PUT without it clears it.
    const cleared = await stack.api$('PUT', '/api/users/canon', { email: 'canon@example.test' });
    expect(cleared.json.locale).toBeNull();
  });

  test('a user with fr-FR gets the email, its reminder and the landing page in French', async () => {
    const { accountId, landing, put } = await userWithAccount('francaise', 'fr-FR');
    expect(put.locale).toBe('fr-FR');

    stack.sim.emitStatus(accountId, 'CREDENTIALS');
    await waitFor(() => mailsTo('francaise@example.test').length >= 1, 30_000, 'French email');
    const [mail] = mailsTo('francaise@example.test');
    expect(mail!.subject).toBe('Action requise : reconnectez votre compte Gmail');
    expect(mail!.text).toContain('Bonjour Zoé,');
    // The account by its name (the wizard's display name), not its id.
    expect(mail!.text).toContain('Votre compte Gmail « GOOGLE of francaise » a été déconnecté');
    expect(mail!.html).toContain('Reconnecter votre compte Gmail</a>');
    expect(mail!.html).toContain('« GOOGLE of francaise »');
    const link = /(http:\/\/\S+\/accounts\/\S+\/reconnect\?token=\S+)/.exec(mail!.text)?.[1];
    expect(link).toBeDefined();

    // The first reminder (REMINDER_SCHEDULE 3s), French too, and counting the email before it.
    await waitFor(() => mailsTo('francaise@example.test').length >= 2, 30_000, 'French reminder');
    const reminder = mailsTo('francaise@example.test')[1]!;
    expect(reminder.subject).toBe('Rappel : reconnectez votre compte Gmail');
    expect(reminder.text).toContain('Nous vous avons déjà écrit une fois à ce sujet.');

    // The landing page: French words, the state in French, the date as a French reader writes it.
    const page = await fetch(landing);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<html lang="fr">');
    expect(html).toContain('<title>Vos comptes connectés</title>');
    expect(html).toContain('À reconnecter par vous');
    expect(html).toContain('>Reconnecter</a>');
    const month = /janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre/.source;
    expect(html).toMatch(new RegExp(`Dernière modification : \\d{1,2} (${month}) \\d{4} à \\d{2}:\\d{2} UTC`));
    expect(html).not.toContain('GMT');
    expect(html).not.toContain('Needs you to reconnect');

    // The reconnect link still leads to the hosted wizard.
    const redirect = await fetch(link!, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
  });

  test('an unknown locale, or none, gets English', async () => {
    const { accountId, landing } = await userWithAccount('unknown-lang', 'tlh-Latn');
    stack.sim.emitStatus(accountId, 'CREDENTIALS');
    await waitFor(() => mailsTo('unknown-lang@example.test').length >= 1, 30_000, 'English email');
    const [mail] = mailsTo('unknown-lang@example.test');
    expect(mail!.subject).toBe('Action needed: reconnect your Gmail account');
    expect(mail!.text).toContain('Your Gmail account "GOOGLE of unknown-lang" has been disconnected');
    const html = await (await fetch(landing)).text();
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('Your connected accounts');
    expect(html).toMatch(/Last change: [A-Z][a-z]+ \d{1,2}, \d{4} at \d{2}:\d{2} [AP]M UTC/);

    const none = await userWithAccount('no-lang');
    expect(none.put.locale).toBeNull();
    expect(await (await fetch(none.landing)).text()).toContain('Your connected accounts');
  });

  test("the reconnect page's answers in the user's language; a bad link in the browser's", async () => {
    const { accountId } = await userWithAccount('deutsch', 'de-DE');
    const deleted = await stack.api$('DELETE', `/api/accounts/${accountId}`);
    expect(deleted.status).toBe(202);
    await waitFor(async () => (await stack.accountRow(accountId))?.status === 'DELETED', 30_000, 'DELETED');
    const token = signToken(stack.config.SIGNING_SECRET, 'reconnect', accountId, 60_000);
    const gone = await fetch(`${stack.api.url}/accounts/${accountId}/reconnect?token=${token}`);
    expect(gone.status).toBe(404);
    const text = await gone.text();
    expect(text).toContain('<html lang="de">');
    expect(text).toContain('Konto nicht gefunden');

    const bad = `${stack.api.url}/connect/done?token=nope`;
    const spanish = await fetch(bad, { headers: { 'accept-language': 'es-ES,es;q=0.9' } });
    expect(spanish.status).toBe(401);
    expect(await spanish.text()).toContain('Enlace caducado');
    const english = await fetch(bad, { headers: { 'accept-language': 'ja' } });
    expect(await english.text()).toContain('Link expired');
  });
});
