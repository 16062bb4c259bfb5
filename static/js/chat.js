// The chat page's live part: one WebSocket per tab carrying all of the member's groups.
// The server numbers every message before broadcasting it; this script shows each sequence number once,
// in order, resumes after its last one on every reconnect, and retries unacknowledged sends with the
// same client message id (the server never makes a duplicate).
(function () {
  "use strict";
  const list = document.getElementById("messages");
  const groupList = document.getElementById("group-list");
  const banner = document.getElementById("conn-banner");
  const composer = document.getElementById("composer");
  const input = document.getElementById("composer-input");
  if (!groupList) return;
  window.qunzuSocket = true; // this page's socket: notify.js listens to its frames instead of opening one

  const current = list ? list.dataset.group : null;
  const me = list ? Number(list.dataset.me) : null;
  const canManage = Boolean(list && list.dataset.canManage);
  const menuTemplate = document.getElementById("msg-menu-template");
  const pinnedBar = document.getElementById("pinned-bar");
  const notice = document.getElementById("chat-notice");
  const t = (key) => (list ? list.dataset["i18n" + key] : "") || key;
  const pending = new Map(); // client_msg_id -> {body, el}
  let lastSeq = 0;
  let socket = null;
  let attempts = 0;
  let resumeInFlight = false;
  let resumeAgain = false; // a gap was seen while a resume was already on its way

  if (list) {
    list.querySelectorAll("li.msg").forEach((li) => { lastSeq = Math.max(lastSeq, Number(li.dataset.seq)); });
    list.querySelectorAll("time.when").forEach((el) => { el.textContent = clock(el.getAttribute("datetime")); });
    scrollDown(true);
  }

  function clock(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return "";
    return d.toLocaleTimeString(document.documentElement.lang || [], {
      hour: "2-digit", minute: "2-digit", hour12: false, timeZone: document.body.dataset.tz || undefined,
    });
  }

  function newClientId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function scrollDown(force) {
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 120;
    if (force || nearBottom) list.scrollTop = list.scrollHeight;
  }

  function roleLabel(role) {
    if (role !== "owner" && role !== "admin") return null;
    const span = document.createElement("span");
    span.className = "role " + role;
    span.textContent = t(role === "owner" ? "Owner" : "Admin");
    return span;
  }

  // Removed by an admin: the place in the sequence stays, the text does not (R9.2).
  function markRemoved(li, bubble) {
    li.classList.add("removed");
    bubble.textContent = t("Removed");
    const menu = li.querySelector(".msg-menu");
    if (menu) menu.remove();
  }

  // The owner's and admins' menu on each shown message: pin, remove (R9.2).
  function messageMenu(seq) {
    const menu = menuTemplate.content.firstElementChild.cloneNode(true);
    const form = menu.querySelector("form");
    form.action = form.getAttribute("action").replace(/\/0\/$/, "/" + seq + "/");
    return menu;
  }

  function showNotice(text) {
    if (!notice) return;
    notice.textContent = text;
    notice.hidden = false;
    clearTimeout(showNotice.timer);
    showNotice.timer = setTimeout(() => { notice.hidden = true; }, 8000);
  }

  function csrfToken() {
    const field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  // The same services as the page's forms, through the API; the socket brings everyone the result.
  function manage(method, path, body) {
    return fetch("/api/groups/" + encodeURIComponent(current) + path, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: body ? JSON.stringify(body) : undefined,
    }).then((response) => {
      if (response.ok) return response.json();
      return response.json().catch(() => ({})).then((error) => {
        showNotice(error.detail || t("ActionFailed"));
        return null;
      });
    }).catch(() => { showNotice(t("ActionFailed")); return null; });
  }

  function showPinned(m) {
    if (!pinnedBar) return;
    pinnedBar.hidden = !m;
    pinnedBar.dataset.seq = m ? String(m.seq) : "";
    if (!m) return;
    pinnedBar.querySelector(".pinned-who").textContent = m.sender ? m.sender.nickname : "";
    const body = m.body || "";
    pinnedBar.querySelector(".pinned-body").textContent = body.length > 140 ? body.slice(0, 139) + "…" : body;
    const unpin = pinnedBar.querySelector("form.pinned-unpin");
    if (unpin) unpin.action = "/groups/" + encodeURIComponent(current) + "/manage/messages/" + m.seq + "/";
  }

  function renderMessage(m, state) {
    const li = document.createElement("li");
    li.className = "msg" + (m.sender && m.sender.id === me ? " mine" : "") + (state ? " " + state : "");
    if (m.seq) li.dataset.seq = m.seq;
    li.dataset.cmid = m.client_msg_id;
    const who = document.createElement("div");
    who.className = "who";
    who.textContent = m.sender ? m.sender.nickname : "";
    const label = m.sender && roleLabel(m.sender.role);
    if (label) { who.append(" ", label); }
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.textContent = m.body;
    if (m.status === "removed") markRemoved(li, bubble);
    const when = document.createElement("time");
    when.className = "when";
    if (m.created_at) { when.setAttribute("datetime", m.created_at); when.textContent = clock(m.created_at); }
    li.append(who, bubble);
    if (canManage && menuTemplate && m.seq && m.status === "visible") li.append(messageMenu(m.seq));
    li.append(when);
    return li;
  }

  // Show a committed message exactly once, in sequence order; a gap asks the server for what is missing.
  function accept(m) {
    if (!list || m.group !== current) return;
    if (m.seq <= lastSeq) { settlePending(m); return; }
    if (m.seq > lastSeq + 1) { requestResume(); return; }
    const placeholder = list.querySelector("li.placeholder");
    if (placeholder) placeholder.remove();
    const mine = pending.get(m.client_msg_id);
    const li = renderMessage(m);
    if (mine && m.sender.id === me) { mine.el.replaceWith(li); pending.delete(m.client_msg_id); }
    else {
      const firstPending = list.querySelector("li.msg.sending, li.msg.failed");
      firstPending ? list.insertBefore(li, firstPending) : list.append(li);
    }
    lastSeq = m.seq;
    scrollDown(m.sender.id === me);
  }

  function settlePending(m) {
    const mine = pending.get(m.client_msg_id);
    if (mine && m.sender && m.sender.id === me) { mine.el.remove(); pending.delete(m.client_msg_id); }
  }

  function requestResume() {
    if (!current || !socket || socket.readyState !== WebSocket.OPEN) return;
    if (resumeInFlight) { resumeAgain = true; return; }
    resumeAgain = false;
    resumeInFlight = true;
    socket.send(JSON.stringify({ type: "resume", group: current, after: lastSeq }));
  }

  function sendFrame(cmid) {
    const item = pending.get(cmid);
    if (!item || !socket || socket.readyState !== WebSocket.OPEN) return;
    item.el.classList.remove("failed");
    item.el.classList.add("sending");
    socket.send(JSON.stringify({ type: "send", group: current, body: item.body, client_msg_id: cmid }));
  }

  // Screening held it: only its author sees it, marked, until a reviewer decides (R10.1).
  function markHeld(m) {
    const item = pending.get(m.client_msg_id);
    if (!item) return;
    pending.delete(m.client_msg_id);
    item.el.classList.remove("sending", "failed");
    item.el.classList.add("held");
    const note = document.createElement("div");
    note.className = "held-note";
    note.textContent = t("Held");
    item.el.append(note);
  }

  // Refused content would be refused again: no retry for it, only the reason (R10.1).
  // A mute, announcement-only mode or a closed group will not change by retrying at once either.
  const FINAL_REFUSALS = new Set([
    "content_blocked", "muted", "announcement_only", "group_not_active", "not_member", "group_pending_review",
  ]);

  function markFailed(cmid, reason, actionUrl, code) {
    const item = pending.get(cmid);
    if (!item) return;
    item.el.classList.remove("sending");
    item.el.classList.add("failed");
    let note = item.el.querySelector(".fail-note");
    if (!note) {
      note = document.createElement("div");
      note.className = "fail-note";
      item.el.append(note);
    }
    note.textContent = t("Failed") + (reason ? ": " + reason : "") + " ";
    if (actionUrl) {
      const fix = document.createElement("a");
      fix.href = actionUrl + "?next=" + encodeURIComponent(window.location.pathname);
      fix.textContent = t("Fix");
      fix.className = "fix-link";
      note.append(fix, " ");
    }
    if (FINAL_REFUSALS.has(code)) { pending.delete(cmid); return; }
    const retry = document.createElement("button");
    retry.type = "button";
    retry.className = "link";
    retry.textContent = t("Retry");
    retry.addEventListener("click", () => sendFrame(cmid));
    note.append(retry);
  }

  function updateSidebar(m) {
    const li = groupList.querySelector(`li[data-group="${m.group}"]`);
    if (!li) return;
    li.querySelector(".g-last").textContent = (m.sender ? m.sender.nickname + ": " : "") + m.body.slice(0, 40);
    li.querySelector(".g-time").textContent = clock(m.created_at);
    if (m.group !== current && m.sender.id !== me) {
      const badge = li.querySelector(".badge");
      badge.textContent = String(Number(badge.textContent || 0) + 1);
      badge.hidden = false;
    }
    groupList.prepend(li);
  }

  function addGroup(code, name) {
    if (groupList.querySelector(`li[data-group="${code}"]`)) return;
    const empty = groupList.querySelector("li.empty");
    if (empty) empty.remove();
    const li = document.createElement("li");
    li.dataset.group = code;
    const a = document.createElement("a");
    a.href = "/groups/" + encodeURIComponent(code) + "/";
    const avatar = document.createElement("span"); avatar.className = "avatar"; avatar.textContent = name.slice(0, 1);
    const main = document.createElement("span"); main.className = "g-main";
    const gname = document.createElement("span"); gname.className = "g-name"; gname.textContent = name;
    const last = document.createElement("span"); last.className = "g-last";
    main.append(gname, last);
    const meta = document.createElement("span"); meta.className = "g-meta";
    const time = document.createElement("span"); time.className = "g-time";
    const badge = document.createElement("span"); badge.className = "badge"; badge.hidden = true; badge.textContent = "0";
    meta.append(time, badge);
    a.append(avatar, main, meta);
    li.append(a);
    groupList.prepend(li);
  }

  function memberEvent(frame) {
    if (!list || frame.group !== current) return;
    const li = document.createElement("li");
    li.className = "system";
    li.textContent = frame.user.nickname + " " + t(frame.event === "joined" ? "Joined" : "Left");
    list.append(li);
    scrollDown(false);
  }

  const handlers = {
    hello() { requestResume(); pending.forEach((_, cmid) => sendFrame(cmid)); },
    ack(frame) { frame.message.status === "held" ? markHeld(frame.message) : accept(frame.message); },
    message(frame) { accept(frame.message); updateSidebar(frame.message); },
    removed(frame) {
      if (!list || frame.group !== current) return;
      const li = list.querySelector(`li.msg[data-seq="${frame.seq}"]`);
      if (li) markRemoved(li, li.querySelector(".bubble"));
    },
    history(frame) {
      if (frame.group !== current) return;
      resumeInFlight = false;
      frame.messages.forEach(accept);
      if (frame.more || resumeAgain) requestResume();
    },
    member: memberEvent,
    pinned(frame) { if (frame.group === current) showPinned(frame.message); },
    group_joined(frame) { addGroup(frame.group, frame.name); },
    group_left(frame) {
      const li = groupList.querySelector(`li[data-group="${frame.group}"]`);
      if (li) li.remove();
      if (frame.group === current) window.location.href = "/";
    },
    error(frame) {
      if (frame.client_msg_id && pending.has(frame.client_msg_id)) {
        markFailed(frame.client_msg_id, frame.message, frame.action_url, frame.code);
        return;
      }
      if (frame.group === current) resumeInFlight = false; // a refused resume must not block the next
      if (banner) { banner.textContent = frame.message; banner.hidden = false; }
    },
    pong() {},
  };

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${window.location.host}/ws/`);
    document.body.dataset.socket = "connecting";
    socket.addEventListener("open", () => {
      attempts = 0;
      resumeInFlight = false;
      resumeAgain = false;
      document.body.dataset.socket = "open";
      if (banner) banner.hidden = true;
    });
    socket.addEventListener("message", (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      document.dispatchEvent(new CustomEvent("qunzu:frame", { detail: frame })); // for notify.js
      const handler = handlers[frame.type];
      if (handler) handler(frame);
    });
    socket.addEventListener("close", (event) => {
      document.body.dataset.socket = "closed";
      if (event.code === 4401 || event.code === 1008) return; // signed out: reconnecting will not help
      if (banner) { banner.textContent = banner.dataset.reconnecting || banner.textContent; banner.hidden = false; }
      const delay = Math.min(10000, 500 * 2 ** attempts) * (0.75 + Math.random() / 2);
      attempts += 1;
      setTimeout(connect, delay);
    });
  }

  if (banner) banner.dataset.reconnecting = banner.textContent;

  if (pinnedBar) {
    pinnedBar.querySelector(".pinned-main").addEventListener("click", (event) => {
      event.preventDefault();
      const li = list.querySelector(`li.msg[data-seq="${pinnedBar.dataset.seq}"]`);
      if (!li) return;
      li.scrollIntoView({ block: "center", behavior: "smooth" });
      li.classList.add("flash");
      setTimeout(() => li.classList.remove("flash"), 1600);
    });
  }

  // Menu and unpin forms: sent through the API where the script runs; the forms still work without it.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    const inMenu = form.classList.contains("msg-menu-panel");
    if (!current || (!inMenu && !form.classList.contains("pinned-unpin"))) return;
    event.preventDefault();
    const action = event.submitter ? event.submitter.value : "";
    const seq = Number(form.getAttribute("action").match(/\/(\d+)\/$/)[1]);
    let done;
    if (action === "pin") done = manage("PUT", "/pinned/", { seq });
    else if (action === "unpin") done = manage("DELETE", "/pinned/");
    else if (action === "remove") {
      if (!window.confirm(t("ConfirmRemove"))) return;
      done = manage("POST", "/messages/" + seq + "/remove/", { reason: form.elements.reason.value });
    }
    if (!done) return;
    done.then((result) => {
      if (!result) return;
      if (action !== "remove") showPinned(result.pinned);
      const menu = form.closest("details");
      if (menu) menu.open = false;
    });
  });

  if (composer) {
    composer.addEventListener("submit", (event) => {
      event.preventDefault();
      const body = input.value.trim();
      if (!body) return;
      const cmid = newClientId();
      const el = renderMessage({ client_msg_id: cmid, body, sender: { id: me, nickname: "" } }, "sending");
      el.querySelector(".who").remove();
      const placeholder = list.querySelector("li.placeholder");
      if (placeholder) placeholder.remove();
      list.append(el);
      pending.set(cmid, { body, el });
      input.value = "";
      scrollDown(true);
      sendFrame(cmid);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        composer.requestSubmit();
      }
    });
  }

  connect();
})();
