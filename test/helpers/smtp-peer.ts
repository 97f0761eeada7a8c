import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  messageId: string;
  /** When the message arrived (ms since epoch), for interval checks. */
  receivedAt: number;
}

/** A real SMTP server in-process: what the service sends arrives here over the wire. */
export class SmtpPeer {
  readonly messages: ReceivedMail[] = [];
  /** While true, messages are read but never answered: a send hangs, as when a peer or a worker stalls. */
  hold = false;
  /** Messages read while holding (never answered, never delivered). */
  held = 0;
  private server = this.createServer();
  private port = 0;
  url = '';
  /** When the current outage began (goDown). */
  private downSince?: number;

  private createServer(): SMTPServer {
    return new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, session, callback) => {
        if (this.hold) {
          this.held++;
          stream.resume();
          return;
        }
        simpleParser(stream)
          .then((mail) => {
            this.messages.push({
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
              subject: mail.subject ?? '',
              text: mail.text ?? '',
              html: typeof mail.html === 'string' ? mail.html : '',
              messageId: mail.messageId ?? '',
              receivedAt: Date.now(),
            });
            callback();
          })
          .catch((err: Error) => callback(err));
      },
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as AddressInfo).port;
    this.url = `smtp://127.0.0.1:${this.port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    if (!this.server.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** An outage: the port stops listening (connections are refused) until comeBack(). */
  async goDown(): Promise<void> {
    await this.stop();
    this.downSince = Date.now();
  }

  /** How long the current outage has lasted so far, in ms (0 when up). */
  downFor(): number {
    return this.downSince === undefined ? 0 : Date.now() - this.downSince;
  }

  /** Listens again on the same port; returns how long it was down, in ms. */
  async comeBack(): Promise<number> {
    this.server = this.createServer();
    await this.start();
    const downMs = Date.now() - (this.downSince ?? Date.now());
    this.downSince = undefined;
    return downMs;
  }
}
