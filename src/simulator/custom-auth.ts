// Custom (native) authentication in the simulator, for every provider: credentials for
// LinkedIn, Instagram, Messenger and Twitter, IMAP/SMTP for MAIL, QR codes for WhatsApp and Telegram, and the
// checkpoints Unipile answers with — chained, switched with TRY_ANOTHER_WAY, resent, approved in the app or scanned.
// Scripts decide the outcome of each call (`connect`, `reconnect`, `checkpoint` operations); control endpoints under
// /_sim/intents play the person's part (scan the QR code, approve in the app, let the QR code rotate).
// As at Unipile, one login is one account: connecting a login that already has an account (the same LinkedIn member's
// cookie, the same username, the same mailbox), whoever connects it, answers with that account's id.
import { randomBytes } from 'node:crypto';
import type { Express, Response } from 'express';
import type { Outcome } from './scripting';
import { refusal, type Intent, type SimulatorCore } from './sim-state';

const CREDENTIAL_PROVIDERS = new Set(['LINKEDIN', 'INSTAGRAM', 'MESSENGER', 'TWITTER']);
const QR_PROVIDERS = new Set(['WHATSAPP', 'TELEGRAM']);
const PHONE = /^\(\+\d{1,4}\)\d{4,15}$/;
const DEFAULT_CONTRACTS = [
  { id: 'contract-recruiter-lite', name: 'Recruiter Lite' },
  { id: 'contract-sales-nav', name: 'Sales Navigator' },
];

const newQr = (): string => `sim-qr-${randomBytes(12).toString('base64url')}`;

/** The login a connection body names (provider and user), or undefined when it names none (QR codes). */
function loginOf(b: Record<string, unknown>): string | undefined {
  const provider = String(b.provider ?? '');
  const text = (key: string) => (typeof b[key] === 'string' ? (b[key] as string).toLowerCase() : undefined);
  if (provider === 'LINKEDIN' && text('access_token')) return `LINKEDIN cookie ${b.access_token as string}`;
  if (CREDENTIAL_PROVIDERS.has(provider) && text('username')) return `${provider} ${text('username')}`;
  if (provider === 'MAIL' && text('imap_user')) return `MAIL ${text('imap_user')}@${text('imap_host')}`;
  return undefined;
}

function bodyProblems(b: Record<string, unknown>): string[] {
  const provider = String(b.provider ?? '');
  const text = (key: string) => typeof b[key] === 'string' && (b[key] as string).length > 0;
  const problems: string[] = [];
  if (provider === 'LINKEDIN' && b.access_token !== undefined) {
    if (!text('access_token')) problems.push('access_token is required');
  } else if (CREDENTIAL_PROVIDERS.has(provider)) {
    for (const key of ['username', 'password']) if (!text(key)) problems.push(`${key} is required`);
  } else if (provider === 'MAIL') {
    for (const key of ['imap_host', 'imap_user', 'imap_password', 'smtp_host', 'smtp_user', 'smtp_password'])
      if (!text(key)) problems.push(`${key} is required`);
    for (const key of ['imap_port', 'smtp_port'])
      if (!Number.isInteger(b[key]) || (b[key] as number) < 1 || (b[key] as number) > 65535)
        problems.push(`${key} must be a port number`);
  } else if (!QR_PROVIDERS.has(provider)) {
    problems.push('provider is not supported');
  }
  return problems;
}

/** The Checkpoint answer for an intent's current step. */
function checkpointBody(intent: Intent) {
  return {
    object: 'Checkpoint',
    account_id: intent.accountId,
    checkpoint: {
      type: intent.checkpointType,
      ...(intent.source ? { source: intent.source } : {}),
      ...(intent.checkpointType === 'CONTRACT_CHOOSER' ? { contract_options: intent.contractOptions } : {}),
      ...(intent.checkpointType === 'QRCODE' ? { qrcode: intent.qrcode } : {}),
    },
  };
}

/** Moves an intent to the checkpoint an outcome describes. */
function enter(intent: Intent, outcome: Outcome): void {
  intent.checkpointType = outcome.checkpointType ?? '2FA';
  intent.source = outcome.source;
  intent.alternative = outcome.alternative;
  intent.contractOptions =
    intent.checkpointType === 'CONTRACT_CHOOSER' ? (outcome.contractOptions ?? DEFAULT_CONTRACTS) : undefined;
  intent.code =
    intent.checkpointType === 'IN_APP_VALIDATION'
      ? undefined
      : intent.checkpointType === 'CONTRACT_CHOOSER'
        ? (outcome.code ?? intent.contractOptions![0]!.id)
        : (outcome.code ?? '123456');
}

/** The step after a solved one: the next scripted checkpoint (true), or none left (false: the intent completes). */
function advance(intent: Intent): boolean {
  const following = intent.chain.shift();
  if (!following) return false;
  enter(intent, following);
  intent.chain = [...intent.chain, ...(following.then ?? [])];
  return true;
}

export function customAuthRoutes(sim: SimulatorCore, app: Express, qrRotateMs: number): void {
  /** Each login's account id, from the first time it was connected. */
  const logins = new Map<string, string>();
  /** The existing account of the body's login, if it has one. */
  const accountOfLogin = (b: Record<string, unknown>): string | undefined => {
    const login = loginOf(b);
    const id = login ? logins.get(login) : undefined;
    return id && sim.accounts.has(id) ? id : undefined;
  };

  /** The intent becomes an account (created or reconnected), as when Unipile accepts the last step. */
  const complete = (intent: Intent, res?: Response): void => {
    sim.intents.delete(intent.accountId);
    if (intent.kind === 'create') {
      sim.createAccount({ type: intent.accountType, id: intent.accountId, name: intent.name });
      res?.status(201).json({ object: 'AccountCreated', account_id: intent.accountId });
      sim.emitStatus(intent.accountId, 'CREATION_SUCCESS', intent.accountType);
    } else {
      res?.status(201).json({ object: 'AccountReconnected', account_id: intent.accountId });
      sim.emitStatus(intent.accountId, 'RECONNECTED', intent.accountType);
    }
  };

  /** POST /api/v1/accounts and /api/v1/accounts/{id} for everything but LinkedIn cookies. */
  const authenticate = async (
    kind: 'create' | 'reconnect',
    accountId: string,
    b: Record<string, unknown>,
    res: Response,
    // POST /api/v1/accounts is scripted as `connect`, even when it lands on an existing account.
    operation: 'connect' | 'reconnect' = kind === 'create' ? 'connect' : 'reconnect',
  ): Promise<void> => {
    const problems = bodyProblems(b);
    if (problems.length > 0) {
      res.status(400).json(sim.errorBody(400, 'invalid_parameters', 'Invalid parameters', problems.join('; ')));
      return;
    }
    const refused = kind === 'reconnect' ? refusal(sim, 'reconnect', accountId) : undefined;
    if (refused) {
      res.status(403).json(refused);
      return;
    }
    const outcome = sim.nextOutcome(operation, operation === 'reconnect' ? accountId : undefined);
    if (await sim.applyOutcome(outcome, res)) return;
    if (outcome.result === 'fail') {
      res.status(401).json(sim.errorBody(401, 'invalid_credentials', 'Invalid credentials'));
      return;
    }
    const login = loginOf(b);
    if (login) logins.set(login, accountId);
    const provider = String(b.provider);
    const accountType = provider === 'MAIL' ? 'MAIL' : provider;
    const name =
      b.access_token !== undefined
        ? 'LinkedIn user'
        : typeof b.username === 'string'
          ? b.username
          : typeof b.imap_user === 'string'
            ? b.imap_user
            : provider;
    const intent: Intent = { accountId, kind, accountType, name, checkpointType: '', chain: [] };
    if (QR_PROVIDERS.has(provider)) {
      intent.checkpointType = 'QRCODE';
      intent.qrcode = newQr();
      intent.qrIssuedAt = Date.now();
      intent.chain = outcome.result === 'checkpoint' ? [outcome, ...(outcome.then ?? [])] : [];
    } else if (outcome.result === 'checkpoint') {
      enter(intent, outcome);
      intent.chain = [...(outcome.then ?? [])];
    } else {
      complete(intent, res);
      return;
    }
    sim.intents.set(accountId, intent);
    res.status(201).json(checkpointBody(intent));
  };

  app.post('/api/v1/accounts/checkpoint/resend', (req, res) => {
    const intent = sim.intents.get(String((req.body as { account_id?: unknown })?.account_id ?? ''));
    if (!intent) {
      res.status(500).json(sim.errorBody(500, 'authentication_intent_error', 'Authentication intent error'));
      return;
    }
    res.json({ object: 'CheckpointResend', account_id: intent.accountId, success: true });
  });

  /** Solving a checkpoint, whatever started the intent (credentials, cookies, a QR code). */
  app.post('/api/v1/accounts/checkpoint', async (req, res) => {
    const b = (req.body ?? {}) as { account_id?: string; code?: string };
    const intent = b.account_id ? sim.intents.get(b.account_id) : undefined;
    if (!intent) {
      res.status(500).json(sim.errorBody(500, 'authentication_intent_error', 'Authentication intent error'));
      return;
    }
    const refused = refusal(sim, 'checkpoint', intent.accountId);
    if (refused) {
      res.status(403).json(refused);
      return;
    }
    if (await sim.applyOutcome(sim.nextOutcome('checkpoint', intent.accountId), res)) return;
    if (b.code === 'TRY_ANOTHER_WAY' && intent.alternative) {
      enter(intent, intent.alternative);
      res.status(201).json(checkpointBody(intent));
      return;
    }
    const solved =
      intent.checkpointType === 'PHONE_REGISTER'
        ? typeof b.code === 'string' && PHONE.test(b.code)
        : intent.checkpointType === 'CONTRACT_CHOOSER'
          ? !!intent.contractOptions?.some((c) => c.id === b.code)
          : intent.code !== undefined && b.code === intent.code;
    if (!solved) {
      res.status(401).json(sim.errorBody(401, 'invalid_checkpoint_solution', 'Invalid checkpoint solution'));
      return;
    }
    if (advance(intent)) res.status(201).json(checkpointBody(intent));
    else complete(intent, res);
  });

  /** An intent still waiting shows as a CONNECTING account, with its current QR code (rotated as it ages). */
  app.get('/api/v1/accounts/:id', (req, res, next) => {
    const intent = sim.intents.get(req.params.id);
    if (sim.accounts.has(req.params.id) || !intent) {
      next();
      return;
    }
    if (intent.checkpointType === 'QRCODE' && Date.now() - (intent.qrIssuedAt ?? 0) >= qrRotateMs) {
      intent.qrcode = newQr();
      intent.qrIssuedAt = Date.now();
    }
    res.json({
      object: 'Account',
      id: intent.accountId,
      type: intent.accountType,
      name: intent.name,
      created_at: new Date().toISOString(),
      groups: [],
      connection_params: {},
      sources: [{ id: `${intent.accountId}_MESSAGING`, status: 'CONNECTING' }],
      checkpoint: checkpointBody(intent).checkpoint,
    });
  });

  app.post('/api/v1/accounts', async (req, res, next) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const existing = accountOfLogin(b);
    // A login that has an account already: Unipile answers with that account, reconnected.
    if (existing) {
      await authenticate('reconnect', existing, b, res, 'connect');
      return;
    }
    if (b.provider === 'LINKEDIN' && b.access_token !== undefined) {
      // Cookies: the simulator's cookie handler, whose answer names the login's new account.
      const login = loginOf(b);
      const json = res.json.bind(res);
      res.json = (body: { account_id?: unknown }) => {
        if (login && typeof body?.account_id === 'string') logins.set(login, body.account_id);
        return json(body);
      };
      next();
      return;
    }
    await authenticate('create', randomBytes(16).toString('base64url').slice(0, 22), b, res);
  });

  app.post('/api/v1/accounts/:id', async (req, res, next) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    if ((b.provider === 'LINKEDIN' && b.access_token !== undefined) || !sim.accounts.has(req.params.id)) {
      next();
      return;
    }
    // The credentials of another login that has an account: that account answers (its id, not the path's).
    await authenticate('reconnect', accountOfLogin(b) ?? req.params.id, b, res);
  });

  // The person's part, and what waits for it (the intents' account ids are not in the API's answers to clients).
  app.get('/_sim/intents', (_req, res) => {
    res.json(
      [...sim.intents.values()].map((i) => ({
        accountId: i.accountId,
        type: i.accountType,
        checkpoint: i.checkpointType,
      })),
    );
  });
  const withIntent = (path: string, act: (intent: Intent, res: Response) => void) =>
    app.post(`/_sim/intents/:id/${path}`, (req, res) => {
      const intent = sim.intents.get(req.params.id);
      if (!intent) res.status(404).json({ error: 'no intent waits for this account' });
      else act(intent, res);
    });
  // Scanning the QR code (or approving in the app) completes the step, or moves to the next scripted checkpoint.
  const proceed = (intent: Intent, res: Response) => {
    if (advance(intent)) res.json({ ok: true, checkpoint: intent.checkpointType });
    else {
      complete(intent);
      res.json({ ok: true, connected: intent.accountId });
    }
  };
  withIntent('scan', (intent, res) => {
    if (intent.checkpointType !== 'QRCODE') res.status(409).json({ error: 'no QR code to scan' });
    else proceed(intent, res);
  });
  withIntent('approve', (intent, res) => {
    if (intent.checkpointType !== 'IN_APP_VALIDATION') res.status(409).json({ error: 'nothing to approve' });
    else proceed(intent, res);
  });
  withIntent('rotate', (intent, res) => {
    intent.qrcode = newQr();
    intent.qrIssuedAt = Date.now();
    res.json({ ok: true });
  });
}
