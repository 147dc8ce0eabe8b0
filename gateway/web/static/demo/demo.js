// The demo app: one user's chat list kept live by reddot.js, and a panel that plays the IM backend.
import { ReddotClient, filterKey } from "/static/reddot.js";

import { $, STAR, el, makeRow, matches, setBadge, updateRow } from "./rows.js";

const DND = 2; // recv_opt "receive without notify": the conversation shows a dot and leaves the total
const BASE_TABS = [
  { name: "All", filter: {} },
  { name: "Groups", filter: { type: 2 } },
  { name: "Starred", filter: { mark: STAR } },
];

let client = null;
let me = null;
let serviceKey = null;
let activeTab = "All";
const groupNames = new Set(); // the user's conversation groups: one filter tab each
const changedAt = new Map(); // conversation → ver of its last change: the list shows recent first
const rows = new Map(); // conversation → <li>
let renderQueued = false;

// --- HTTP -------------------------------------------------------------------------------------

async function call(method, path, body, key) {
  const headers = { "content-type": "application/json" };
  if (key) headers.authorization = `Bearer ${key}`;
  const response = await fetch(path, { method, headers, body: body && JSON.stringify(body) });
  const data = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Error(data?.error?.message || `${method} ${path}: ${response.status}`);
  return data;
}

async function service(method, path, body) {
  serviceKey ??= (await call("GET", "/v1/dev/service-key")).key;
  return call(method, path, body, serviceKey);
}

const mintToken = (user) => async () => (await call("POST", "/v1/dev/token", { user })).token;

// --- signing in -------------------------------------------------------------------------------

async function signIn(user) {
  client?.close();
  me = user;
  groupNames.clear();
  changedAt.clear();
  rows.clear();
  $("#conversations").replaceChildren();
  $("#user").value = user;
  $("#whoami").textContent = `@${user}`;
  history.replaceState(null, "", `?user=${encodeURIComponent(user)}`);
  client = new ReddotClient(mintToken(user));
  client.on("connection", showConnection);
  client.on("state", queueRender);
  client.on("conversations", ({ conversations, ver }) => {
    for (const c of conversations) {
      changedAt.set(c.id, ver);
      c.groups.forEach(watchGroup);
    }
  });
  await client.start();
  await client.getTotal();
  await Promise.all(BASE_TABS.map((tab) => client.subscribeFilter(tab.filter)));
  (await client.getConversationGroups()).forEach(watchGroup);
  refreshTargets();
  queueRender();
}

function watchGroup(name) {
  if (groupNames.has(name)) return;
  groupNames.add(name);
  client.subscribeFilter({ group: name }).catch((error) => log(`filter ${name}: ${error.message}`, true));
}

function showConnection({ state, retryIn }) {
  const status = $("#status");
  status.dataset.state = state;
  status.textContent = {
    connecting: "connecting…",
    open: "live",
    closed: retryIn === undefined ? "offline" : `reconnecting in ${(retryIn / 1000).toFixed(1)} s`,
    failed: "signed out",
  }[state];
}

// --- rendering --------------------------------------------------------------------------------

function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

function tabs() {
  return [...BASE_TABS, ...[...groupNames].sort().map((name) => ({ name, filter: { group: name }, group: true }))];
}

function render() {
  setBadge($("#total-badge"), client.total ?? 0);
  renderTabs();
  const filter = tabs().find((tab) => tab.name === activeTab)?.filter ?? {};
  const shown = [...client.conversations.values()]
    .filter((c) => matches(c, filter))
    .sort((a, b) => (changedAt.get(b.id) ?? 0) - (changedAt.get(a.id) ?? 0) || a.id.localeCompare(b.id));
  const list = $("#conversations");
  shown.forEach((c, index) => {
    const li = rows.get(c.id) ?? rows.set(c.id, makeRow(c.id, onRowClick)).get(c.id);
    updateRow(li, c);
    if (list.children[index] !== li) list.insertBefore(li, list.children[index] ?? null);
  });
  while (list.children.length > shown.length) list.lastElementChild.remove();
  $("#empty").hidden = shown.length > 0;
  $("#group-names").replaceChildren(...[...groupNames].map((name) => new Option(name)));
}

function renderTabs() {
  const nav = $("#filters");
  const wanted = tabs();
  if (nav.children.length !== wanted.length || wanted.some((t, i) => nav.children[i].dataset.filter !== t.name)) {
    nav.replaceChildren(
      ...wanted.map((tab) => {
        const button = el("button", { type: "button", className: tab.group ? "chip group" : "chip" });
        button.dataset.filter = tab.name;
        button.append(el("span", { textContent: tab.name }), el("span", { className: "badge hidden" }));
        button.addEventListener("click", () => {
          activeTab = tab.name;
          render();
        });
        return button;
      }),
    );
  }
  for (const [i, tab] of wanted.entries()) {
    const button = nav.children[i];
    button.classList.toggle("active", tab.name === activeTab);
    setBadge($(".badge", button), client.filters.get(filterKey(tab.filter)) ?? 0);
  }
}

// --- user actions -----------------------------------------------------------------------------

async function onRowClick(event, li) {
  const id = li.dataset.conv;
  const target = event.target.closest("button, input");
  if (!target) return void attempt(`read ${id}`, () => client.clean(id));
  if (target.classList.contains("more")) {
    $(".actions", li).hidden = !$(".actions", li).hidden;
    return;
  }
  const action = target.dataset.action;
  if (action === "mute") {
    await attempt(`${li.dataset.muted === "true" ? "unmute" : "mute"} ${id}`, () =>
      client.setRecvOpt([id], li.dataset.muted === "true" ? 0 : DND),
    );
  } else if (action === "star") {
    await attempt(`star ${id}`, () => client.mark([id], STAR, li.dataset.starred !== "true"));
  } else if (action === "group") {
    const name = $("input", li).value.trim();
    if (!name) return;
    await attempt(`add ${id} to ${name}`, async () => {
      if (groupNames.has(name)) await client.addToConversationGroup(name, [id]);
      else await client.createConversationGroup(name, [id]);
      watchGroup(name);
    });
    $("input", li).value = "";
  }
}

async function attempt(what, action) {
  try {
    const outcome = await action();
    log(typeof outcome === "string" ? `${what} (${outcome})` : what);
  } catch (error) {
    log(`${what}: ${error.message}`, true);
  }
}

async function sendMessages(event) {
  event.preventDefault();
  const from = $("#from").value.trim();
  const target = $("#target").value;
  const count = Math.max(1, Math.min(500, Number($("#count").value) || 1));
  const stamp = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
  const now = Math.floor(Date.now() / 1000);
  const messages = [];
  for (let i = 0; i < count; i++) {
    const id = `demo-${stamp}-${i}`;
    if (target === "c2c") {
      // A timestamp at or below the read position would not count: stay above it.
      const read = client.conversations.get(`c2c_${from}`)?.read_timestamp ?? 0;
      messages.push({ id, from, to: me, timestamp: Math.max(now, read + 1), excluded: $("#excluded").checked });
    } else {
      const read = client.conversations.get(`group_${target}`)?.read_sequence ?? 0;
      messages.push({
        id, from, group: target, seq: Math.max(Date.now(), read + 1) + i, timestamp: now,
        excluded: $("#excluded").checked, at: $("#at-me").checked ? [me] : [], at_all: $("#at-all").checked,
      });
    }
  }
  const where = target === "c2c" ? "you" : `# ${target}`;
  await attempt(`${from} → ${where}: ${count} message${count === 1 ? "" : "s"}`, async () => {
    const reply = await service("POST", "/v1/messages", { messages });
    const counted = reply.results.reduce((sum, r) => sum + r.counted, 0);
    return `counted ${counted}×`;
  });
}

async function createGroup(event) {
  event.preventDefault();
  const id = $("#group-id").value.trim();
  const others = $("#group-members").value.split(/[\s,]+/).filter(Boolean);
  await attempt(`create group ${id}`, async () => {
    await service("PUT", `/v1/groups/${encodeURIComponent(id)}`, { type: $("#group-type").value });
    await service("POST", `/v1/groups/${encodeURIComponent(id)}/members`, { add: [me, ...others] });
    const known = new Set(JSON.parse(localStorage.getItem("reddot-demo-groups") || "[]")).add(id);
    localStorage.setItem("reddot-demo-groups", JSON.stringify([...known]));
    refreshTargets(id);
  });
}

function refreshTargets(select) {
  const stored = JSON.parse(localStorage.getItem("reddot-demo-groups") || "[]");
  const fromList = [...(client?.conversations.keys() ?? [])].filter((id) => id.startsWith("group_")).map((id) => id.slice(6));
  const groups = [...new Set([...stored, ...fromList])].sort();
  const current = select ?? $("#target").value;
  $("#target").replaceChildren(
    new Option("me (one-to-one)", "c2c"),
    ...groups.map((g) => new Option(`group # ${g}`, g)),
  );
  $("#target").value = groups.includes(current) ? current : "c2c";
}

function log(text, failed = false) {
  const entry = el("li", { className: failed ? "failed" : "", textContent: text });
  entry.prepend(el("time", { textContent: new Date().toLocaleTimeString() }));
  $("#log").prepend(entry);
  while ($("#log").children.length > 40) $("#log").lastElementChild.remove();
}

$("#signin").addEventListener("submit", (event) => {
  event.preventDefault();
  signIn($("#user").value.trim());
});
$("#send").addEventListener("submit", sendMessages);
$("#new-group").addEventListener("submit", createGroup);
signIn(new URLSearchParams(location.search).get("user") || "alice");
