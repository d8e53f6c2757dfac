// 企业微信模拟器的网页：选一位成员，看他的私聊和所在的群，发命令、点卡片。
// No framework and no build step: the simulator embeds this file as it is.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  app: "防返贫预警助手", bot: "防返贫助手", users: [],
  user: null, chat: null, // chat: {id, name, kind}
  cursor: 0, lastSeq: 0, lastAt: "", cards: {}, // cards: task_id (or response_code) → card element
  polling: false, gen: 0,
};

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}

// linkify appends text to parent with its web addresses as links opening in a new tab.
function linkify(parent, text) {
  const re = /https?:\/\/[^\s<>"'，。；）]+/g;
  let last = 0, m;
  while ((m = re.exec(text)) !== null) {
    if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
    const a = el("a", "", m[0]);
    a.href = m[0]; a.target = "_blank"; a.rel = "noopener";
    // a link with no signature of its own (a group's list page) asks WeCom who opens it
    if (!/[?&]s=/.test(m[0]) && /\/(tasks|form)\//.test(m[0])) {
      a.href = "sim/open?user=" + encodeURIComponent(state.user || "") + "&url=" + encodeURIComponent(m[0]);
    }
    parent.appendChild(a);
    last = m.index + m[0].length;
  }
  if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
}

function stripTags(s) {
  const d = document.createElement("div");
  d.innerHTML = String(s || "").replace(/<br\s*\/?>/gi, "\n");
  return d.textContent;
}

function toast(msg) {
  const t = $("toast");
  t.textContent = msg; t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
}

async function api(path, body) {
  const opt = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const r = await fetch(path, opt);
  if (!r.ok) throw new Error((await r.text()).trim() || ("HTTP " + r.status));
  return r.status === 204 ? null : r.json();
}

function avatar(name, cls) {
  const n = name || "?";
  // people by their name, the app by 助手, a group by its township's first two characters
  return el("div", "avatar" + (cls ? " " + cls : ""), n.length <= 2 ? n : cls === "group" ? n.slice(0, 2) : n.slice(-2));
}

function userName(id) {
  const u = state.users.find((u) => u.userid === id);
  return u ? u.name : id;
}

function show(screen) {
  for (const s of ["users", "chats", "chat"]) $("screen-" + s).hidden = s !== screen;
}

function setHash() {
  const p = new URLSearchParams();
  if (state.user) p.set("user", state.user);
  if (state.chat) p.set("chat", state.chat.kind === "private" ? "@" : state.chat.id);
  history.replaceState(null, "", "#" + p.toString());
}

// ---- 成员 ----

async function loadUsers() {
  const res = await api("sim/api/users");
  state.app = res.app; state.bot = res.bot; state.users = res.users;
  const ul = $("users");
  ul.textContent = "";
  if (state.users.length === 0) ul.appendChild(el("li", "empty", "模拟器里还没有成员。"));
  for (const u of state.users) {
    const li = el("li", "user-item");
    li.dataset.user = u.userid;
    li.appendChild(avatar(u.name));
    const main = el("div", "item-main");
    main.appendChild(el("div", "item-name", u.name));
    main.appendChild(el("div", "item-sub", u.role ? u.role + "（" + u.userid + "）" : u.userid));
    li.appendChild(main);
    li.onclick = () => pickUser(u.userid);
    ul.appendChild(li);
  }
}

function pickUser(id) {
  state.user = id; state.chat = null; state.chatsSig = "";
  $("chats-title").textContent = userName(id) + " 的消息";
  show("chats"); setHash();
  refreshChats();
}

// ---- 消息列表 ----

async function refreshChats() {
  const user = state.user;
  const res = await api("sim/api/chats?user=" + encodeURIComponent(user));
  if (state.user !== user) return res.chats;
  // Rebuild only on change, so a tap never lands on a list being replaced.
  const sig = user + JSON.stringify(res.chats);
  if (sig === state.chatsSig) return res.chats;
  state.chatsSig = sig;
  const ul = $("chats");
  ul.textContent = "";
  for (const c of res.chats) {
    const li = el("li", "chat-item");
    li.dataset.chat = c.id; li.dataset.kind = c.kind;
    li.appendChild(avatar(c.name, c.kind === "private" ? "bot" : "group"));
    const main = el("div", "item-main");
    const top = el("div", "item-top");
    top.appendChild(el("span", "item-name", c.kind === "group" ? c.name + "（" + c.members + "人）" : c.name));
    if (c.last_at) top.appendChild(el("span", "item-at", c.last_at));
    main.appendChild(top);
    main.appendChild(el("div", "item-sub", c.last || (c.kind === "private" ? "私聊：可以发送“帮助”查看命令" : "群聊：@" + state.bot + " 发送命令")));
    li.appendChild(main);
    li.onclick = () => openChat(c);
    ul.appendChild(li);
  }
  return res.chats;
}

// ---- 聊天 ----

function openChat(c) {
  state.chat = c; state.cursor = 0; state.lastSeq = 0; state.lastAt = ""; state.cards = {}; state.gen++;
  $("chat-title").textContent = c.kind === "group" ? c.name + "（" + c.members + "人）" : c.name;
  $("messages").textContent = "";
  $("messages").appendChild(el("div", "empty", "正在加载……"));
  $("input").placeholder = c.kind === "group" ? "@" + state.bot + " 输入命令，例如：待办" : "输入命令，例如：待办";
  // WeCom brings files to the AI bot only in single chat.
  $("attach").hidden = c.kind === "group";
  show("chat"); setHash();
  pollMessages();
  $("input").focus();
}

async function pollMessages() {
  if (!state.chat) return;
  const gen = state.gen;
  const q = "user=" + encodeURIComponent(state.user) + "&chat=" + encodeURIComponent(state.chat.id) + "&after=" + state.cursor;
  const res = await api("sim/api/messages?" + q);
  if (gen !== state.gen) return;
  const box = $("messages");
  const empty = box.querySelector(".empty");
  if (empty) empty.remove();
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  // Two polls may overlap (a send and the timer): draw every message once.
  for (const m of res.messages) if (m.seq > state.lastSeq) { render(m); state.lastSeq = m.seq; }
  state.cursor = Math.max(state.cursor, res.cursor);
  if (box.children.length === 0) box.appendChild(el("div", "empty", "还没有消息。"));
  if (res.messages.length && (atBottom || state.cursor === res.cursor)) box.scrollTop = box.scrollHeight;
}

function render(m) {
  const box = $("messages");
  if (m.kind === "card_update") { updateCard(m); return; }
  if (m.at !== state.lastAt) { box.appendChild(el("div", "time", m.at)); state.lastAt = m.at; }
  if (m.kind === "click") {
    const n = el("div", "note msg");
    n.dataset.seq = m.seq;
    n.appendChild(el("span", "", m.name + " 提交了卡片：" + m.content));
    box.appendChild(n);
    return;
  }
  const mine = m.from !== "" && m.from === state.user;
  const row = el("div", "row msg" + (mine ? " mine" : ""));
  row.dataset.seq = m.seq; row.dataset.kind = m.kind; row.dataset.from = m.from;
  row.appendChild(avatar(m.name, m.from ? "" : "bot"));
  const col = el("div", "col");
  if (state.chat.kind === "group" && !mine) col.appendChild(el("div", "who", m.name));
  col.appendChild(content(m));
  row.appendChild(col);
  box.appendChild(row);
}

function content(m) {
  const b = m.body || {};
  switch (m.kind) {
    case "text":
    case "markdown": {
      const d = el("div", "bubble");
      if (m.from && state.chat.kind === "group") d.appendChild(el("span", "mention", "@" + state.bot + " "));
      linkify(d, m.content || "");
      if (m.mentions && m.mentions.length) {
        d.appendChild(document.createTextNode("\n"));
        d.appendChild(el("span", "mention", m.mentions.map((n) => "@" + n).join(" ")));
      }
      if (m.truncated) d.appendChild(el("div", "trunc", "（消息过长，企业微信已截断）"));
      return d;
    }
    case "textcard": {
      const d = el("div", "card textcard");
      const t = el("div", "main");
      const a = el("a", "", b.title || "");
      a.href = b.url || "#"; a.target = "_blank"; a.rel = "noopener";
      t.appendChild(a); d.appendChild(t);
      const desc = el("div", "sub"); linkify(desc, stripTags(b.description)); d.appendChild(desc);
      const more = el("a", "more", b.btntxt || "详情");
      more.href = b.url || "#"; more.target = "_blank"; more.rel = "noopener";
      d.appendChild(more);
      return d;
    }
    case "news": {
      const d = el("div", "card news");
      for (const it of b.articles || []) {
        const a = el("a", "", it.title || "");
        a.href = it.url || "#"; a.target = "_blank"; a.rel = "noopener";
        d.appendChild(a);
        if (it.description) d.appendChild(el("div", "desc", it.description));
      }
      return d;
    }
    case "file": {
      const d = el("div", "bubble file", "📎 ");
      const a = el("a", "", m.content || "（未命名）");
      a.href = m.file || "#"; a.download = m.content || "";
      d.appendChild(a);
      return d;
    }
    case "image": {
      const d = el("div", "bubble image");
      const a = el("a", "");
      a.href = m.file || "#"; a.target = "_blank"; a.rel = "noopener";
      const img = el("img", "");
      img.src = m.file || ""; img.alt = "图片"; img.style.maxWidth = "100%";
      a.appendChild(img); d.appendChild(a);
      return d;
    }
    case "template_card":
      return templateCard(m, b);
    default:
      return el("div", "bubble", "［" + m.kind + " 消息］");
  }
}

// templateCard draws a WeCom template card with working selects and buttons.
function templateCard(m, c) {
  const d = el("div", "card tcard");
  d.dataset.task = c.task_id || "";
  if (c.source && c.source.desc) d.appendChild(el("div", "src", c.source.desc));
  if (c.main_title) {
    d.appendChild(el("div", "main", c.main_title.title || ""));
    if (c.main_title.desc) d.appendChild(el("div", "desc", c.main_title.desc));
  }
  if (c.sub_title_text) { const s = el("div", "sub"); linkify(s, c.sub_title_text); d.appendChild(s); }
  for (const kv of c.horizontal_content_list || []) {
    const line = el("div", "kv", (kv.keyname || "") + "：");
    if (kv.url) { const a = el("a", "", kv.value || kv.url); a.href = kv.url; a.target = "_blank"; line.appendChild(a); }
    else line.appendChild(document.createTextNode(kv.value || ""));
    d.appendChild(line);
  }
  const inputs = []; // {key, get()}
  const selects = c.select_list || (c.button_selection ? [c.button_selection] : []);
  for (const q of selects) {
    const lab = el("label", "q", q.title || "请选择");
    const s = el("select");
    s.dataset.q = q.question_key;
    // As in WeCom, a list with no selected_id starts on "请选择": nothing is chosen by default.
    if (!(q.option_list || []).some((o) => o.id === q.selected_id)) {
      const none = el("option", "", "请选择"); none.value = ""; none.selected = true;
      s.appendChild(none);
    }
    for (const o of q.option_list || []) {
      const opt = el("option", "", o.text); opt.value = o.id;
      if (o.id === q.selected_id) opt.selected = true;
      s.appendChild(opt);
    }
    lab.appendChild(s); d.appendChild(lab);
    inputs.push({ key: q.question_key, get: () => (s.value ? [s.value] : []) });
  }
  if (c.checkbox) {
    const q = c.checkbox, box = el("div", "opts");
    const boxes = [];
    for (const o of q.option_list || []) {
      const l = el("label");
      const i = el("input"); i.type = q.mode === 1 ? "checkbox" : "radio"; i.name = "cb" + m.seq; i.value = o.id; i.checked = !!o.is_checked;
      l.appendChild(i); l.appendChild(document.createTextNode(" " + o.text));
      box.appendChild(l); boxes.push(i);
    }
    d.appendChild(box);
    inputs.push({ key: q.question_key, get: () => boxes.filter((i) => i.checked).map((i) => i.value) });
  }
  if ((c.jump_list || []).length || (c.card_action && c.card_action.url)) {
    const j = el("div", "jumps");
    for (const it of c.jump_list || []) {
      if (!it.url) continue;
      const a = el("a", "", "› " + (it.title || it.url)); a.href = it.url; a.target = "_blank"; a.rel = "noopener";
      j.appendChild(a);
    }
    if (c.card_action && c.card_action.url && !(c.jump_list || []).length) {
      const a = el("a", "", "› 查看详情"); a.href = c.card_action.url; a.target = "_blank"; a.rel = "noopener";
      j.appendChild(a);
    }
    d.appendChild(j);
  }
  const btns = el("div", "btns");
  const click = async (key, btn) => {
    const selected = {};
    for (const i of inputs) { const v = i.get(); if (v.length) selected[i.key] = v; }
    for (const x of d.querySelectorAll("button, select, input")) x.disabled = true;
    btn.textContent = "已提交，等待回复……";
    try {
      await api("sim/api/click", { user: state.user, task_id: c.task_id, response_code: m.response_code, event_key: key, card_type: c.card_type, selected });
      setTimeout(pollMessages, 300);
    } catch (e) {
      for (const x of d.querySelectorAll("button, select, input")) x.disabled = false;
      btn.textContent = btn.dataset.text;
      toast("提交失败：" + e.message);
    }
  };
  for (const b of c.button_list || []) {
    const bt = el("button", b.style === 2 ? "plain" : "", b.text); bt.dataset.text = b.text; bt.dataset.key = b.key;
    bt.onclick = () => click(b.key, bt);
    btns.appendChild(bt);
  }
  if (c.submit_button) {
    const bt = el("button", "submit", c.submit_button.text || "提交"); bt.dataset.text = bt.textContent; bt.dataset.key = c.submit_button.key;
    bt.onclick = () => click(c.submit_button.key, bt);
    btns.appendChild(bt);
  }
  if (c.replace_text) {
    // handled: WeCom greys the button out with this text, nothing is left to press
    for (const x of d.querySelectorAll("select, input")) x.disabled = true;
    d.appendChild(el("div", "state", c.replace_text));
  } else if (btns.children.length) d.appendChild(btns);
  if (c.task_id) state.cards[c.task_id] = d;
  else if (m.response_code) state.cards[m.response_code] = d;
  return d;
}

// updateCard applies message/update_template_card to the card it names.
function updateCard(m) {
  const b = m.body || {};
  const card = state.cards[m.task_id] || state.cards[b.response_code];
  if (!card) return;
  if (b.template_card) {
    const fresh = templateCard({ seq: m.seq, response_code: b.response_code }, Object.assign({ task_id: m.task_id }, b.template_card));
    card.replaceWith(fresh);
    return;
  }
  const name = (b.button && b.button.replace_name) || "已处理";
  for (const x of card.querySelectorAll("button, select, input")) x.disabled = true;
  const btns = card.querySelector(".btns");
  if (btns) btns.remove();
  let st = card.querySelector(".state");
  if (!st) { st = el("div", "state"); card.appendChild(st); }
  st.textContent = name;
}

async function send(ev) {
  ev.preventDefault();
  const text = $("input").value.trim();
  if (!text || !state.chat) return;
  $("send").disabled = true;
  try {
    await api("sim/api/say", { user: state.user, chat: state.chat.kind === "group" ? state.chat.id : "", text });
    $("input").value = "";
    await pollMessages();
  } catch (e) {
    toast("发送失败：" + e.message);
  } finally {
    $("send").disabled = false;
    $("input").focus();
  }
}

// sendFile sends the picked file to the AI bot in the private chat, encrypted as WeCom does.
async function sendFile() {
  const f = $("file").files[0];
  $("file").value = "";
  if (!f || !state.chat || state.chat.kind === "group") return;
  const fd = new FormData();
  fd.append("user", state.user); fd.append("file", f, f.name);
  try {
    const r = await fetch("sim/api/file", { method: "POST", body: fd });
    if (!r.ok) throw new Error((await r.text()).trim() || ("HTTP " + r.status));
    await pollMessages();
  } catch (e) {
    toast("发送文件失败：" + e.message);
  }
}

async function tick() {
  if (state.polling) return;
  state.polling = true;
  try {
    if (!$("screen-chat").hidden) await pollMessages();
    else if (!$("screen-chats").hidden) await refreshChats();
  } catch (e) {
    toast("连接模拟器失败：" + e.message);
  } finally {
    state.polling = false;
  }
}

async function start() {
  $("back-users").onclick = () => { state.user = null; show("users"); setHash(); };
  $("back-chats").onclick = () => { state.chat = null; state.gen++; show("chats"); setHash(); refreshChats(); };
  $("composer").onsubmit = send;
  $("file").onchange = sendFile;
  try {
    await loadUsers();
  } catch (e) {
    toast("连接模拟器失败：" + e.message);
  }
  // #user=zhangsan&chat=@ reopens where the page was before a reload.
  const p = new URLSearchParams(location.hash.slice(1));
  if (p.get("user")) {
    pickUser(p.get("user"));
    const want = p.get("chat");
    if (want) {
      const chats = await refreshChats();
      const c = (chats || []).find((c) => (want === "@" ? c.kind === "private" : c.id === want));
      if (c) openChat(c);
    }
  }
  setInterval(tick, 1000);
}

start();
