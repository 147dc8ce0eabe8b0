// rows.js: the demo's conversation rows and badges, drawn from a conversation's values.

export const $ = (selector, root = document) => root.querySelector(selector);
export const STAR = 1;

export function el(tag, props = {}) {
  return Object.assign(document.createElement(tag), props);
}

export function makeRow(id, onClick) {
  const li = el("li", { className: "conv" });
  li.dataset.conv = id;
  const kind = id.startsWith("group_") ? "group" : "c2c";
  const name = id.replace(/^(c2c|group)_/, "");
  li.innerHTML = `
    <div class="avatar ${kind}"></div>
    <div class="body">
      <div class="line"><span class="name"></span><span class="flags"></span></div>
      <div class="line sub"><span class="at" hidden>[@ you]</span><span class="preview"></span></div>
    </div>
    <div class="indicator"><span class="badge hidden"></span><span class="dot" hidden></span></div>
    <button type="button" class="more" aria-label="Actions">⋯</button>
    <div class="actions" hidden>
      <button type="button" data-action="mute"></button>
      <button type="button" data-action="star"></button>
      <input list="group-names" placeholder="conversation group" maxlength="32">
      <button type="button" data-action="group">Add to group</button>
    </div>`;
  $(".avatar", li).textContent = name.slice(0, 1).toUpperCase();
  $(".avatar", li).style.setProperty("--hue", String([...name].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) % 360, 7)));
  $(".name", li).textContent = kind === "group" ? `# ${name}` : name;
  li.addEventListener("click", (event) => onClick(event, li));
  return li;
}

export function updateRow(li, c) {
  const muted = c.recv_opt !== 0;
  const starred = (BigInt(c.marks) & BigInt(STAR)) !== 0n;
  setBadge($(".badge", li), muted ? 0 : c.unread);
  $(".dot", li).hidden = !(muted && c.unread > 0);
  $(".at", li).hidden = c.mentions === 0;
  li.classList.toggle("unread", c.unread > 0);
  li.classList.toggle("muted", muted);
  const flags = [starred ? "★" : "", muted ? "muted" : "", ...c.groups.map((g) => `#${g}`)];
  $(".flags", li).textContent = flags.filter(Boolean).join("  ");
  $(".preview", li).textContent = c.unread
    ? `${c.unread} unread message${c.unread === 1 ? "" : "s"}${c.mentions ? `, ${c.mentions} mention${c.mentions === 1 ? "" : "s"}` : ""}`
    : "All caught up";
  $("[data-action=mute]", li).textContent = muted ? "Unmute" : "Mute";
  $("[data-action=star]", li).textContent = starred ? "Unstar" : "Star";
  li.dataset.muted = String(muted);
  li.dataset.starred = String(starred);
}

export function setBadge(badge, count) {
  badge.textContent = count > 99 ? "99+" : String(count);
  badge.classList.toggle("hidden", count === 0);
}

export function matches(c, filter) {
  if (filter.type && c.type !== filter.type) return false;
  if (filter.mark && (BigInt(c.marks) & BigInt(filter.mark)) !== BigInt(filter.mark)) return false;
  return !filter.group || c.groups.includes(filter.group);
}
