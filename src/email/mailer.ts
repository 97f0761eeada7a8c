import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';

export interface OutgoingEmail {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Set by the caller so a re-sent email carries the same Message-ID as the first try. */
  messageId?: string;
}

export interface Mailer {
  send(email: OutgoingEmail): Promise<{ messageId: string }>;
  close(): void;
}

/**
 * nodemailer over SMTP_URL. A `file://` URL (what `npm run dev` uses when SMTP_URL is unset) writes each message
 * as an .eml file into that folder instead, so development needs no mail server.
 */
export function createMailer(smtpUrl: string, timeoutMs = 60_000): Mailer {
  if (smtpUrl.startsWith('file://')) {
    const dir = fileURLToPath(smtpUrl);
    const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
    return {
      async send(email) {
        const info = await transport.sendMail(email);
        await mkdir(dir, { recursive: true });
        const file = `${new Date().toISOString().replace(/[:.]/g, '-')}-${info.messageId.replace(/[^\w.-]/g, '')}.eml`;
        await writeFile(join(dir, file), info.message as Buffer);
        return { messageId: info.messageId };
      },
      close: () => transport.close(),
    };
  }
  // A send gives up within the email activity's own timeout rather than nodemailer's 10-minute default.
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  return {
    async send(email) {
      const info = await transport.sendMail(email);
      return { messageId: info.messageId };
    },
    close: () => transport.close(),
  };
}
