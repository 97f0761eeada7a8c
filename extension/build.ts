/**
 * Builds the browser extension: `npm run extension:build` writes the unpacked extension to extension/dist and a zip
 * for the Chrome Web Store to extension/build. Rebranding and the API origin are build-time settings:
 *
 *   EXTENSION_API_ORIGIN   the product's API, e.g. https://accounts.example.com (default http://localhost:3000)
 *   EXTENSION_APP_ORIGINS  comma-separated origins of the product's web app that may hand over the pairing key
 *   EXTENSION_NAME         the name people see (default "LinkedIn connection keeper")
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { deflateSync } from 'node:zlib';
import { build } from 'esbuild';
import { zipSync } from 'fflate';

const HERE = __dirname;

export interface ExtensionOptions {
  apiOrigin: string;
  appOrigins: string[];
  name: string;
  version: string;
}

/** An http(s) origin, https unless it is this machine (development). */
export function originOf(value: string, setting: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${setting} must be an origin such as https://accounts.example.com (got "${value}")`);
  }
  const local = url.hostname === '127.0.0.1' || url.hostname === 'localhost';
  if (url.protocol !== 'https:' && !(local && url.protocol === 'http:'))
    throw new Error(`${setting} must use https (http only for localhost or 127.0.0.1): "${value}"`);
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password)
    throw new Error(`${setting} must be an origin alone, without a path: "${value}"`);
  return url;
}

/** A match pattern for an origin; match patterns carry no port, so any port of that host matches. */
const patternOf = (url: URL): string => `${url.protocol}//${url.hostname}/*`;

/** This machine under either name (npm run dev prints localhost; tests use 127.0.0.1). */
const LOCAL_NAMES = ['localhost', '127.0.0.1'];
const apiPatterns = (url: URL): string[] =>
  LOCAL_NAMES.includes(url.hostname) ? LOCAL_NAMES.map((h) => `${url.protocol}//${h}/*`) : [patternOf(url)];

/** The manifest: only the permissions the extension uses (cookies, alarms, storage) and the hosts it talks to. */
export function extensionManifest(options: ExtensionOptions): Record<string, unknown> {
  const api = originOf(options.apiOrigin, 'EXTENSION_API_ORIGIN');
  const apps = options.appOrigins.map((o) => patternOf(originOf(o, 'EXTENSION_APP_ORIGINS')));
  const icons = { '16': 'icon-16.png', '48': 'icon-48.png', '128': 'icon-128.png' };
  return {
    manifest_version: 3,
    name: options.name,
    version: options.version,
    description: 'Keeps your LinkedIn account connected to your product by sending it your LinkedIn session.',
    minimum_chrome_version: '116',
    icons,
    background: { service_worker: 'background.js' },
    content_scripts: [{ matches: ['https://www.linkedin.com/*'], js: ['content.js'], run_at: 'document_idle' }],
    action: { default_popup: 'popup.html', default_title: options.name, default_icon: icons },
    options_ui: { page: 'options.html', open_in_tab: true },
    permissions: ['cookies', 'alarms', 'storage'],
    host_permissions: ['https://*.linkedin.com/*', ...apiPatterns(api)],
    ...(apps.length ? { externally_connectable: { matches: apps } } : {}),
  };
}

/** A square PNG icon in the product's blue with a white bar: enough for the store until a team brings its own. */
export function iconPng(size: number): Buffer {
  const rows: Buffer[] = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 4);
    for (let x = 0; x < size; x++) {
      const bar = y > size * 0.42 && y < size * 0.58 && x > size * 0.2 && x < size * 0.8;
      row.set(bar ? [255, 255, 255, 255] : [9, 105, 218, 255], 1 + x * 4);
    }
    rows.push(row);
  }
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Builds into `outDir` (unpacked, loadable with --load-extension) and writes the zip; returns both paths. */
export async function buildExtension(
  options: ExtensionOptions,
  outDir = resolve(HERE, 'dist'),
  zipDir = resolve(HERE, 'build'),
): Promise<{ dir: string; zip: string }> {
  const manifest = extensionManifest(options);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: ['background', 'content', 'popup', 'options'].map((n) => resolve(HERE, 'src', `${n}.ts`)),
    outdir: outDir,
    bundle: true,
    format: 'iife',
    target: 'chrome116',
    define: { DEFAULT_API_URL: JSON.stringify(options.apiOrigin.replace(/\/$/, '')) },
    logLevel: 'warning',
  });
  cpSync(resolve(HERE, 'static'), outDir, { recursive: true });
  for (const size of [16, 48, 128]) writeFileSync(join(outDir, `icon-${size}.png`), iconPng(size));
  writeFileSync(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

  const entries: Record<string, Uint8Array> = {};
  for (const file of filesUnder(outDir)) entries[relative(outDir, file)] = readFileSync(file);
  mkdirSync(zipDir, { recursive: true });
  const slug = options.name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  const zip = join(zipDir, `${slug}-${options.version}.zip`);
  writeFileSync(zip, zipSync(entries, { level: 9, mtime: new Date('2026-01-01T00:00:00Z') }));
  return { dir: outDir, zip };
}

export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): ExtensionOptions {
  const pkg = JSON.parse(readFileSync(resolve(HERE, '../package.json'), 'utf8')) as { version: string };
  return {
    apiOrigin: env.EXTENSION_API_ORIGIN ?? 'http://localhost:3000',
    appOrigins: (env.EXTENSION_APP_ORIGINS ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    name: env.EXTENSION_NAME ?? 'LinkedIn connection keeper',
    version: pkg.version,
  };
}

if (require.main === module) {
  buildExtension(optionsFromEnv()).then(
    ({ dir, zip }) => console.log(`Unpacked extension: ${dir}\nChrome Web Store zip: ${zip}`),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
