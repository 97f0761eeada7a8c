import { createLogger } from '../../src/platform/logger';

/** Every line the logger writes, as parsed JSON and as raw text. */
function capture() {
  const lines: string[] = [];
  const logger = createLogger('debug', 'test', { write: (line: string) => void lines.push(line) });
  return { logger, text: () => lines.join('\n'), json: () => lines.map((l) => JSON.parse(l) as Record<string, any>) };
}

// Values that would only appear in the output if a field were not redacted.
const secrets = {
  password: 'pw-Hunter2-top',
  imap_password: 'imap-Secr3t-pw',
  smtp_password: 'smtp-Secr3t-pw',
  code: '493817',
  qrcode: 'qr-2@AbCdEfGhIjKl==',
};

describe('log redaction', () => {
  test.each(Object.entries(secrets))('%s is redacted at the top level, one and two levels down', (field, value) => {
    const { logger, text, json } = capture();
    logger.info({ [field]: value }, 'top');
    logger.info({ body: { [field]: value } }, 'body');
    logger.info({ input: { [field]: value } }, 'nested');
    logger.info({ req: { body: { [field]: value } } }, 'deeper');
    expect(json()).toHaveLength(4);
    expect(text()).not.toContain(value);
    // The field is still there, so a reader sees that something was sent.
    expect(json()[0]![field]).toBe('[redacted]');
    expect(json()[3]!.req.body[field]).toBe('[redacted]');
  });

  test('an IMAP connection body as the API receives it keeps no secret; the rest is logged', () => {
    const { logger, text, json } = capture();
    logger.warn(
      {
        body: {
          provider: 'MAIL',
          imap_user: 'ada@example.test',
          imap_password: secrets.imap_password,
          smtp_password: secrets.smtp_password,
          password: secrets.password,
        },
        checkpoint: { code: secrets.code, qrcode: secrets.qrcode },
      },
      'connection refused',
    );
    for (const value of Object.values(secrets)) expect(text()).not.toContain(value);
    expect(json()[0]!.body.imap_user).toBe('ada@example.test');
  });

  test('the secrets redacted before stay redacted (cookies, tokens, authorization headers)', () => {
    const { logger, text } = capture();
    logger.info({ li_at: 'AQEDcookie-value', headers: { authorization: 'Bearer abcdefabcdef0123' }, token: 't-0123' });
    for (const value of ['AQEDcookie-value', 'Bearer abcdefabcdef0123', 't-0123']) expect(text()).not.toContain(value);
  });
});
