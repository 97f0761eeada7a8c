/**
 * The LinkedIn member id of the person signed in, from a linkedin.com page. LinkedIn embeds its bootstrap JSON in the
 * page, as the seed describes: `{"data":{"plainId":123456789,…}}` (inside `<code>` elements, so in the raw HTML the
 * quotes are `&quot;`). Only a `plainId` that is a direct key of a `data` object counts: the page also names other
 * members (feed authors, suggestions), whose ids must never be taken for the user's own.
 */
const OWN_PLAIN_ID = /\{\s*"data"\s*:\s*\{[^{}]*?"plainId"\s*:\s*"?(\d{1,20})"?/;

export function memberIdFrom(page: string): string | null {
  const text = page.includes('&quot;') ? page.replace(/&quot;/g, '"') : page;
  return OWN_PLAIN_ID.exec(text)?.[1] ?? null;
}
