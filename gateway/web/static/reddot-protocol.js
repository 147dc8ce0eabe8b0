// reddot-protocol.js: the values of the reddot protocol that reddot.js builds on (docs/protocol.md §2-§3):
// error replies, filter identity, token expiry, the socket URL, and reading a paged listing.

export const NO_RETRY_CODES = new Set([4001, 4003]); // a new token (or origin) is needed first

// A conversation with nothing stored, as the gateway would push it (its id and type stay).
const EMPTIED = { unread: 0, mentions: 0, recv_opt: 0, marks: 0, groups: [], read_timestamp: 0, read_sequence: 0 };

/** An error reply (or a lost connection): `code` is the protocol's error code. */
export class ReddotError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.name = "ReddotError";
    this.code = code;
    this.detail = message;
  }
}

/** The normalized identity of a filter (docs/protocol.md §2), usable as a Map key. */
export function filterKey(filter = {}) {
  return JSON.stringify({
    type: filter.type || 0,
    group: filter.group || null,
    mark: filter.mark || 0,
    has_mention: filter.has_mention || null,
  });
}

/** The `exp` claim (Unix seconds) of a JWT, or null if it cannot be read. */
export function tokenExpiry(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const exp = JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4))).exp;
    return typeof exp === "number" ? exp : null;
  } catch {
    return null;
  }
}

/** The /v1/ws URL of a gateway: ws(s)://host/v1/ws from an http(s) base, or the page's own origin. */
export function socketUrl(base) {
  const url = new URL(base || "/", globalThis.location?.href);
  if (url.protocol === "http:" || url.protocol === "https:") url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  if (!url.pathname.endsWith("/v1/ws")) url.pathname = url.pathname.replace(/\/$/, "") + "/v1/ws";
  return url;
}

/** A backoff delay in ms with full jitter: the clients of a restarted gateway must not all come back at once. */
export function fullJitter([first, cap], attempt) {
  return Math.round(Math.random() * Math.min(cap, first * 2 ** attempt));
}

/** A promise with its resolve and reject, and whether it settled (a start that others may wait for). */
export function settleable() {
  const open = { settled: false };
  open.promise = new Promise((resolve, reject) => {
    open.resolve = () => ((open.settled = true), resolve());
    open.reject = (error) => ((open.settled = true), reject(error));
  });
  open.promise.catch(() => {}); // a failed start is reported through the `connection` event too
  return open;
}

/** Reject every pending request (a Map of id → {reject, timer}) with `error`, and forget them. */
export function failAll(pending, error) {
  for (const { reject, timer } of pending.values()) {
    clearTimeout(timer);
    reject(error);
  }
  pending.clear();
}

/** Every page of a listing: `get_conversations` again with each `next_cursor` until it is null. */
export async function listPages(client, unreadOnly) {
  const pages = [];
  let cursor = null;
  do {
    const reply = await client.request("get_conversations", { unread_only: unreadOnly, ...(cursor ? { cursor } : {}) });
    pages.push(reply);
    cursor = reply.next_cursor;
  } while (cursor);
  return pages;
}

/** A full listing read after a reconnect, as the conversations to keep. When every page has one `ver`,
 * `whole` is the listing plus each known conversation it leaves out, reset to zero (nothing is stored for
 * it any more: say its only message was recalled while away). When the state moved between pages,
 * `whole` is null: keep each page for its own ver, and pushes bring the rest. */
export function relisted(pages, known) {
  if (new Set(pages.map((page) => page.ver)).size > 1) return { pages, whole: null };
  const whole = pages.flatMap((page) => page.conversations);
  const ids = new Set(whole.map((c) => c.id));
  for (const [id, kept] of known) {
    if (!ids.has(id)) whole.push({ ...kept, ...EMPTIED });
  }
  return { pages, whole };
}
