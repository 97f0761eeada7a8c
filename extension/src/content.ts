/**
 * Runs on linkedin.com pages: finds the signed-in member's id in the page and tells the service worker, which
 * sends it with the cookies so the server can tell one LinkedIn account from another (account switching).
 */
import { memberIdFrom } from './member-id';

const memberId = memberIdFrom(document.documentElement.outerHTML);
if (memberId) void chrome.runtime.sendMessage({ type: 'linkedin-member', memberId });
