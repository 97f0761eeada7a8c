/** Debian's Chromium, installed by .ci/run; CHROMIUM_PATH to use another. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Flags for a headless Chromium on a machine without internet, as root: without the background-networking ones it
 * keeps trying to reach Google's hosts, and those connections are refused here.
 */
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
