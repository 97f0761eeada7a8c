import pino from 'pino';

const SECRET_FIELDS = ['password', 'imap_password', 'smtp_password', 'code', 'qrcode'];

// Redaction is a safety net: code never logs secrets on purpose, but a stray object must not leak one either.
export function createLogger(
  level: string = process.env.LOG_LEVEL ?? 'info',
  name = 'unipile-accounts',
  destination?: pino.DestinationStream,
) {
  const options: pino.LoggerOptions = {
    name,
    level,
    redact: {
      paths: [
        'li_at',
        'li_a',
        '*.li_at',
        '*.li_a',
        'access_token',
        '*.access_token',
        'premium_token',
        '*.premium_token',
        'authorization',
        '*.authorization',
        'headers.authorization',
        'headers["unipile-auth"]',
        'headers["x-api-key"]',
        'token',
        '*.token',
        // Credentials and one-time codes of a connection (IMAP/SMTP passwords, 2FA codes, QR codes), wherever a
        // request body or an input object carrying them ends up: top level, one and two levels down.
        ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]),
      ],
      // pino's censor is not told which object a wildcard matched, so an error's own `code` (ECONNREFUSED) is
      // redacted too; its message still says why it failed.
      censor: '[redacted]',
    },
  };
  if (destination) return pino(options, destination);
  // A person at a terminal reads pretty lines; anything else (a log shipper, a file) gets one JSON object per line.
  if (process.env.LOG_FORMAT === 'pretty' || (process.stdout.isTTY && process.env.LOG_FORMAT !== 'json')) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss' } },
    });
  }
  return pino(options);
}

export type Logger = ReturnType<typeof createLogger>;
