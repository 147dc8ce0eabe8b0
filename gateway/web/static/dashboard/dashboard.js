// The ops dashboard: polls /v1/dashboard/stats every second and keeps the last minutes for the charts.
const $ = (selector) => document.querySelector(selector);
const POLL_MS = 1000;
const HISTORY = 600; // points kept: ten minutes at one poll per second
const MAX_ROWS = 100; // process rows shown; the totals above always cover the whole fleet
const KEY_STORE = "reddot-service-key";

const KPIS = [
  ["connections", "Connections", (t) => fmt(t.connections), (t) => `${fmt(t.processes)} process${t.processes === 1 ? "" : "es"}`],
  ["users", "Users online", (t) => fmt(t.users_online), () => "summed over processes"],
  ["frames", "Frames / s", (t) => fmt(t.frames_total_per_s), (t) => `${fmt(count(t, "frames"))} sent`],
  ["events", "Events / s", (t) => fmt(t.events_per_s), (t) => `${fmt(t.counts.events)} received`],
  ["messages", "Messages / s", (t) => fmt(t.messages_per_s), (t) => `${fmt(t.counts.messages)} ingested`],
  ["updates", "Recipient updates / s", (t) => fmt(t.recipient_updates_per_s), (t) => `${fmt(t.counts.recipient_updates)} counted`],
  ["lag", "Lag p50 / p99", (t) => `${fmt(t.lag_p50_ms)} / ${fmt(t.lag_p99_ms)}`, () => "ms, publish → frame"],
  ["reloads", "Snapshot reloads / s", (t) => fmt(t.reloads_per_s), (t) => `${fmt(t.counts.reloads)} reloads`],
  ["errors", "Errors / s", (t) => fmt(t.errors_per_s), (t) => `${fmt(t.counts.errors)} errors`],
];
const COLORS = ["#2563eb", "#ef4444", "#10b981", "#f59e0b", "#8b5cf6"];
const CHARTS = {
  frames: { el: "#chart-frames", series: ["conversations", "total", "filter", "reply"], pick: (t) => ["conversations", "total", "filter", "reply"].map((k) => t.frames_per_s[k]) },
  ingest: { el: "#chart-ingest", series: ["messages", "recipient updates", "events"], pick: (t) => [t.messages_per_s, t.recipient_updates_per_s, t.events_per_s] },
  lag: { el: "#chart-lag", series: ["p50", "p99"], pick: (t) => [t.lag_p50_ms, t.lag_p99_ms] },
  conns: { el: "#chart-conns", series: ["connections", "users"], pick: (t) => [t.connections, t.users_online] },
};

const past = { at: [], ...Object.fromEntries(Object.keys(CHARTS).map((name) => [name, []])) };
const plots = {};

function fmt(value) {
  if (value === null || value === undefined) return "–";
  return Number(value).toLocaleString("en-US", { maximumFractionDigits: value < 10 ? 1 : 0 });
}
const ms = (value) => (value === null || value === undefined ? "–" : `${fmt(value)} ms`);
const count = (t, prefix) => Object.entries(t.counts).reduce((sum, [k, v]) => sum + (k.startsWith(`${prefix}.`) ? v : 0), 0);
const bytes = (n) => (n ? `${(n / 2 ** 20).toLocaleString("en-US", { maximumFractionDigits: 1 })} MiB` : "–");
const clock = (t) => new Date(t * 1000).toLocaleTimeString("en-GB");
const duration = (s) => (s >= 86400 ? `${Math.floor(s / 86400)} d` : s >= 3600 ? `${Math.floor(s / 3600)} h` : s >= 60 ? `${Math.floor(s / 60)} min` : `${Math.floor(s)} s`);

// --- the key --------------------------------------------------------------------------------

function takeKeyFromUrl() {
  const url = new URL(location.href);
  const key = url.searchParams.get("key");
  if (!key) return;
  sessionStorage.setItem(KEY_STORE, key);
  url.searchParams.delete("key"); // keep the key out of the history and of shared screenshots
  window.history.replaceState(null, "", url);
}

$("#login").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY_STORE, $("#key").value.trim());
  $("#login").hidden = true;
  poll();
});

// --- polling --------------------------------------------------------------------------------

async function poll() {
  const key = sessionStorage.getItem(KEY_STORE);
  let response;
  try {
    response = await fetch("/v1/dashboard/stats", { headers: key ? { authorization: `Bearer ${key}` } : {}, cache: "no-store" });
  } catch {
    return status("unreachable", "gateway unreachable");
  }
  if (response.status === 401 || response.status === 403) {
    $("#login").hidden = false;
    $("#main").hidden = true;
    $("#login-error").textContent = key ? "That key was refused." : "";
    return status("locked", "locked");
  }
  if (!response.ok) return status("unreachable", `HTTP ${response.status}`);
  $("#login").hidden = true;
  $("#main").hidden = false;
  const stats = await response.json();
  show(stats);
  status("live", `updated ${new Date(stats.at * 1000).toLocaleTimeString()}`);
}

function status(state, text) {
  $("#updated").dataset.state = state;
  $("#updated").textContent = text;
}

function schedule() {
  poll().finally(() => setTimeout(schedule, POLL_MS));
}

// --- rendering ------------------------------------------------------------------------------

function show(stats) {
  const totals = stats.totals;
  const node = stats.redis.nodes[0];
  $("#fleet").textContent = `${totals.processes} gateway process${totals.processes === 1 ? "" : "es"} · ${
    stats.redis.up && node ? `${node.server} ${node.version} (${node.role})` : "Redis down"
  }`;
  renderKpis(totals);
  record(stats.at, totals);
  renderRedis(stats.redis);
  renderProcesses(stats.processes);
}

function renderKpis(totals) {
  const grid = $("#kpis");
  if (!grid.children.length) {
    for (const [id, label] of KPIS) {
      grid.insertAdjacentHTML("beforeend", `<div class="kpi" id="kpi-${id}"><span class="label">${label}</span><span class="value" data-testid="kpi-${id}"></span><span class="sub"></span></div>`);
    }
  }
  for (const [id, , value, sub] of KPIS) {
    $(`#kpi-${id} .value`).textContent = value(totals);
    $(`#kpi-${id} .sub`).textContent = sub(totals);
  }
  $("#kpi-errors").classList.toggle("alarm", totals.errors_per_s > 0);
}

function record(at, totals) {
  past.at.push(at);
  for (const [name, chart] of Object.entries(CHARTS)) past[name].push(chart.pick(totals));
  if (past.at.length > HISTORY) for (const series of Object.values(past)) series.shift();
  for (const [name, chart] of Object.entries(CHARTS)) {
    const data = [past.at, ...chart.series.map((_, i) => past[name].map((row) => row[i]))];
    plots[name] ??= makePlot(chart, data);
    plots[name].setData(data);
  }
}

function makePlot(chart, data) {
  const holder = $(chart.el);
  const plot = new uPlot(
    {
      width: holder.clientWidth || 500,
      height: 200,
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.15)] } },
      axes: [{ stroke: "#6b7280", grid: { stroke: "#f1f5f9" }, space: 90, values: (u, ticks) => ticks.map(clock) }, { stroke: "#6b7280", grid: { stroke: "#f1f5f9" }, size: 52 }],
      series: [{}, ...chart.series.map((label, i) => ({ label, stroke: COLORS[i], width: 2, spanGaps: false, points: { show: false } }))],
    },
    data,
    holder,
  );
  new ResizeObserver(() => plot.setSize({ width: holder.clientWidth, height: 200 })).observe(holder);
  return plot;
}

function table(el, head, rows) {
  el.replaceChildren();
  const headRow = el.createTHead().insertRow();
  for (const title of head) headRow.append(Object.assign(document.createElement("th"), { textContent: title }));
  const body = el.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    for (const cell of row) tr.insertCell().textContent = cell;
  }
}

function renderRedis(redis) {
  if (!redis.up) return table($("#redis"), ["status"], [[`down: ${redis.error}`]]);
  table(
    $("#redis"),
    ["server", "role", "used memory", "ops / s", "clients", "pub/sub channels", "shard channels", "keys", "uptime"],
    redis.nodes.map((n) => [
      `${n.server} ${n.version}`, n.role, n.used_memory_human ?? bytes(n.used_memory), fmt(n.ops_per_sec),
      fmt(n.connected_clients), fmt(n.pubsub_channels), fmt(n.pubsub_shardchannels), fmt(n.keys), duration(n.uptime_s ?? 0),
    ]),
  );
}

function renderProcesses(processes) {
  $("#process-count").textContent = processes.length > MAX_ROWS ? `(first ${MAX_ROWS} of ${processes.length})` : `(${processes.length})`;
  const now = Date.now() / 1000;
  table(
    $("#processes"),
    ["process", "up", "conns", "users", "frames/s", "events/s", "msgs/s", "updates/s", "p50", "p99", "reloads/s", "errors/s", "CPU", "RSS", "age"],
    processes.slice(0, MAX_ROWS).map((p) => [
      p.id, duration(now - p.started), fmt(p.connections), fmt(p.users_online),
      fmt(Object.values(p.frames_per_s).reduce((a, b) => a + b, 0)), fmt(p.events_per_s), fmt(p.messages_per_s),
      fmt(p.recipient_updates_per_s), ms(p.lag_p50_ms), ms(p.lag_p99_ms), fmt(p.reloads_per_s), fmt(p.errors_per_s),
      `${fmt(p.cpu_percent)} %`, bytes(p.rss_bytes), `${p.age_s.toFixed(1)} s`,
    ]),
  );
}

takeKeyFromUrl();
schedule();
