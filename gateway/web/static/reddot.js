// reddot.js: a browser client for the reddot gateway's /v1/ws (docs/protocol.md §3).
// ES modules, no dependencies, no build step: import /static/reddot.js (it imports reddot-protocol.js
// beside it) or copy both into your bundle. It mirrors gateway/client.py: reconnects with backoff and full jitter,
// re-sends get_total and every filter subscription after each reconnect, keeps the latest
// value per key by `ver`, and refreshes the token before it expires.

import {
  NO_RETRY_CODES, ReddotError, failAll, filterKey, fullJitter, listPages, relisted, settleable, socketUrl, tokenExpiry,
} from "./reddot-protocol.js";

export { ReddotError, filterKey, tokenExpiry };

/**
 * One user's live unread state. Events (addEventListener or `on`):
 *   total {total, ver} · filter {filter, key, total, ver} · conversations {conversations, ver}
 *   state {client} after any change · connection {state: connecting|open|closed|failed, code, retryIn}
 */
export class ReddotClient extends EventTarget {
  constructor(token, { url, backoff = [250, 10000], refreshBefore = 30, requestTimeout = 10000 } = {}) {
    super();
    this.url = socketUrl(url);
    this.backoff = backoff; // [first delay, cap] in ms; the delay doubles after every failure
    this.refreshBefore = refreshBefore; // seconds before exp to fetch a new token
    this.requestTimeout = requestTimeout;
    this.total = null;
    this.ver = -1;
    this.filters = new Map(); // filterKey → total
    this.conversations = new Map(); // conversation id → conversation
    this.connection = "idle";
    this.closedWith = null; // the close code that ended reconnecting
    this.connects = 0;
    this._token = token; // a string, or an async function returning one
    this._vers = new Map();
    this._wantTotal = false;
    this._subscribed = new Map(); // filterKey → filter
    this._pending = new Map(); // request id → {resolve, reject, timer}
    this._nextId = 1;
    this._ws = null;
    this._stopped = true;
    this._attempt = 0;
    this._retryTimer = null;
    this._refreshTimer = null;
    this._open = null;
    this._resetOpen();
  }

  /** Listen to one event type; returns a function that stops listening. */
  on(type, handler) {
    const listener = (event) => handler(event.detail);
    this.addEventListener(type, listener);
    return () => this.removeEventListener(type, listener);
  }

  /** Connect (and keep reconnecting); resolves once the first welcome arrived. */
  start() {
    if (this._stopped) {
      this._stopped = false;
      this._connect();
    }
    return this._open.promise;
  }

  /** Stop reconnecting and close the socket. */
  close() {
    this._stopped = true;
    clearTimeout(this._retryTimer);
    clearTimeout(this._refreshTimer);
    if (this._ws) this._ws.close(1000);
    this._setConnection("closed", { code: 1000 });
  }

  // --- requests --------------------------------------------------------------------------

  /** Send one op; resolves with the reply, rejects with a ReddotError carrying `code`. */
  async request(op, args = {}) {
    await this._open.promise;
    const id = this._nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new ReddotError("deadline_exceeded", `no reply to ${op} within ${this.requestTimeout} ms`));
      }, this.requestTimeout);
      this._pending.set(id, { resolve, reject, timer });
      this._ws.send(JSON.stringify({ id, op, ...args }));
    });
  }

  /** The total; from now on (across reconnects) `total` events follow it. */
  async getTotal() {
    this._wantTotal = true;
    const reply = await this.request("get_total");
    this._keep("total", "total", reply.total, reply.ver);
    return reply.total;
  }

  /** Subscribe a filter (re-sent after every reconnect); resolves with its total. */
  async subscribeFilter(filter) {
    const key = filterKey(filter);
    this._subscribed.set(key, filter);
    const reply = await this.request("subscribe_filter", { filter });
    this._keep("filter", key, reply.total, reply.ver, filter);
    return reply.total;
  }

  /** Stop a filter's pushes. */
  async unsubscribeFilter(filter) {
    const key = filterKey(filter);
    this._subscribed.delete(key);
    this.filters.delete(key);
    return this.request("unsubscribe_filter", { filter });
  }

  /** Conversations (all of them with unreadOnly = false), every page of the listing; they are kept in
   * `conversations` too. */
  async getConversations(unreadOnly = true) {
    const pages = await listPages(this, unreadOnly);
    for (const page of pages) this._keepConversations(page.conversations, page.ver);
    return pages.flatMap((page) => page.conversations);
  }

  /** After a reconnect: every page of the listing replaces the known conversations (see relisted()). */
  async _relist() {
    const { pages, whole } = relisted(await listPages(this, false), this.conversations);
    if (whole) this._keepConversations(whole, pages[0].ver);
    else for (const page of pages) this._keepConversations(page.conversations, page.ver);
  }

  /** Mark a conversation (or "c2c", "group", "" for all of a kind) read. */
  clean(conversation, { timestamp = 0, sequence = 0 } = {}) {
    return this.request("clean", { conversation, timestamp, sequence });
  }

  setRecvOpt(conversations, recvOpt) {
    return this.request("set_recv_opt", { conversations, recv_opt: recvOpt });
  }

  mark(conversations, mark, enable = true) {
    return this.request("mark", { conversations, mark, enable });
  }

  createConversationGroup(name, conversations = []) {
    return this.request("create_conversation_group", { name, conversations });
  }

  addToConversationGroup(name, conversations) {
    return this.request("add_to_conversation_group", { name, conversations });
  }

  removeFromConversationGroup(name, conversations) {
    return this.request("remove_from_conversation_group", { name, conversations });
  }

  async getConversationGroups() {
    return (await this.request("get_conversation_groups")).groups;
  }

  // --- the connection ----------------------------------------------------------------------

  async _connect() {
    if (this._stopped) return;
    this._setConnection("connecting");
    let token;
    try {
      token = await this._currentToken();
    } catch (error) {
      this._retry(null, error);
      return;
    }
    const url = new URL(this.url);
    url.searchParams.set("token", token);
    const ws = new WebSocket(url);
    this._ws = ws;
    let welcomed = false;
    ws.onmessage = (message) => {
      const frame = JSON.parse(message.data);
      if (!welcomed && frame.type === "welcome") {
        welcomed = true;
        this._welcome(frame, token);
      } else {
        this._frame(frame);
      }
    };
    ws.onclose = (event) => {
      if (this._ws !== ws) return;
      this._ws = null;
      clearTimeout(this._refreshTimer);
      failAll(this._pending, new ReddotError("unavailable", "the connection was lost"));
      this._resetOpen();
      if (this._stopped) return;
      this._retry(event.code);
    };
  }

  _welcome(frame, token) {
    this.connects += 1;
    this._attempt = 0;
    this.ver = Math.max(this.ver, frame.ver);
    this._open.resolve();
    this._setConnection("open", { user: frame.user });
    this._scheduleRefresh(token);
    // State may have changed while away: ask again for everything this client watches.
    const again = [this._relist()];
    if (this._wantTotal) again.push(this.getTotal());
    for (const filter of this._subscribed.values()) again.push(this.subscribeFilter(filter));
    Promise.allSettled(again);
  }

  _retry(code, error) {
    if (NO_RETRY_CODES.has(code) && typeof this._token !== "function") {
      // The same token would be refused again: stop, and say why.
      this._stopped = true;
      this.closedWith = code;
      this._setConnection("failed", { code });
      this._open.reject?.(new ReddotError("unauthenticated", `closed with ${code}`));
      return;
    }
    const retryIn = fullJitter(this.backoff, this._attempt);
    this._attempt += 1;
    this._setConnection("closed", { code, retryIn, error: error?.message });
    this._retryTimer = setTimeout(() => this._connect(), retryIn);
  }

  async _currentToken() {
    return typeof this._token === "function" ? await this._token() : this._token;
  }

  _scheduleRefresh(token) {
    const exp = tokenExpiry(token);
    if (exp === null || typeof this._token !== "function") return; // a fixed token cannot be renewed
    const wait = Math.max(0, (exp - this.refreshBefore) * 1000 - Date.now());
    this._refreshTimer = setTimeout(async () => {
      try {
        const fresh = await this._token();
        await this.request("refresh", { token: fresh });
        this._scheduleRefresh(fresh);
      } catch {
        // Try again shortly; if the token expires meanwhile, the 4001 close brings a reconnect.
        this._refreshTimer = setTimeout(() => this._scheduleRefresh(token), 5000);
      }
    }, Math.min(wait, 2 ** 31 - 1));
  }

  _frame(frame) {
    if ("id" in frame) {
      const pending = this._pending.get(frame.id);
      if (!pending) return;
      this._pending.delete(frame.id);
      clearTimeout(pending.timer);
      if (frame.ok) pending.resolve(frame);
      else pending.reject(new ReddotError(frame.error.code, frame.error.message));
      return;
    }
    if (frame.type === "total") this._keep("total", "total", frame.total, frame.ver);
    else if (frame.type === "filter") this._keep("filter", filterKey(frame.filter), frame.total, frame.ver, frame.filter);
    else if (frame.type === "conversations") this._keepConversations(frame.conversations, frame.ver);
  }

  /** Keep a value unless a newer one (by ver) is already kept for the same key. */
  _newer(slot, ver) {
    if (ver < (this._vers.get(slot) ?? -1)) return false;
    this._vers.set(slot, ver);
    this.ver = Math.max(this.ver, ver);
    return true;
  }

  _keep(kind, key, total, ver, filter) {
    if (!this._newer(`${kind}:${key}`, ver)) return;
    if (kind === "total") {
      this.total = total;
      this._emit("total", { total, ver });
    } else {
      if (!this._subscribed.has(key)) return; // a reply racing an unsubscribe
      this.filters.set(key, total);
      this._emit("filter", { filter, key, total, ver });
    }
    this._emit("state", { client: this });
  }

  _keepConversations(conversations, ver) {
    const changed = conversations.filter((c) => this._newer(`conversation:${c.id}`, ver));
    if (!changed.length) return;
    for (const c of changed) this.conversations.set(c.id, c);
    this._emit("conversations", { conversations: changed, ver });
    this._emit("state", { client: this });
  }

  _resetOpen() {
    if (!this._open || this._open.settled) this._open = settleable();
  }

  _setConnection(state, detail = {}) {
    this.connection = state;
    this._emit("connection", { state, ...detail });
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
