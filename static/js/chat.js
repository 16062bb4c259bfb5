// The chat page's live part: one WebSocket per tab carrying all of the member's groups (docs/protocol.md).
// The server numbers every message before broadcasting it; this script shows each sequence number once,
// in order, resumes after its last one on every reconnect, and retries unacknowledged sends with the
// same client message id (the server never makes a duplicate). Older messages load as the member scrolls
// up; the owner's and admins' actions go through the API; the socket brings everyone the result.
(function () {
  "use strict";
  const PROTOCOL = 2;
  // The same outline as templates/groups/_icon_file.svg.
  const FILE_ICON_PATH = "M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8zM14 2v6h6M8 13h8M8 17h5";
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
  const recallMs = list ? Number(list.dataset.recallSeconds || 120) * 1000 : 0;
  const menuTemplate = document.getElementById("msg-menu-template");
  const pinnedBar = document.getElementById("pinned-bar");
  const notice = document.getElementById("chat-notice");
  const historyTop = document.getElementById("history-top");
  const mentionList = document.getElementById("mention-list");
  const memberNamesEl = document.getElementById("member-names");
  const memberNames = memberNamesEl ? JSON.parse(memberNamesEl.textContent) : [];
  const tz = document.body.dataset.tz || undefined;
  const lang = document.documentElement.lang || [];
  const t = (key) => (list ? list.dataset["i18n" + key] : "") || key;
  const pending = new Map(); // client_msg_id -> {body, el}
  const early = new Map(); // seq -> message that came before the one it follows (held briefly)
  let gapTimer = null;
  let lastSeq = 0;
  let firstSeq = 0;
  let reachedStart = false;
  let loadingOlder = false;
  let socket = null;
  let attempts = 0;
  let resumeInFlight = false;
  let resumeAgain = false; // a gap was seen while a resume was already on its way
  let readSent = 0;
  let readTimer = null;

  // --- formatting ------------------------------------------------------------------------------------

  function clock(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return "";
    return d.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: tz });
  }

  // A time today, or a date and time (a mute can last days).
  function moment(iso) {
    if (dayKey(iso) === dayKey(new Date().toISOString())) return clock(iso);
    return new Date(iso).toLocaleString(lang, {
      month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false, timeZone: tz,
    });
  }

  function dayKey(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return "";
    return d.toLocaleDateString("en-CA", { timeZone: tz }); // YYYY-MM-DD in the member's zone
  }

  function dayLabel(iso) {
    const key = dayKey(iso);
    const today = dayKey(new Date().toISOString());
    const yesterday = dayKey(new Date(Date.now() - 86400000).toISOString());
    if (key === today) return t("Today");
    if (key === yesterday) return t("Yesterday");
    return new Date(iso).toLocaleDateString(lang, {
      year: "numeric", month: "long", day: "numeric", weekday: "short", timeZone: tz,
    });
  }

  // A separator before the first message of each day (recomputed: cheap for the pages a member loads).
  function separateDays() {
    if (!list) return;
    list.querySelectorAll("li.day").forEach((li) => li.remove());
    let previous = "";
    list.querySelectorAll("li.msg[data-at]").forEach((li) => {
      const key = dayKey(li.dataset.at);
      if (key && key !== previous) {
        const day = document.createElement("li");
        day.className = "day";
        day.setAttribute("role", "separator");
        day.textContent = dayLabel(li.dataset.at);
        li.before(day);
        previous = key;
      }
    });
  }

  function newClientId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function nearBottom() {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 120;
  }

  function scrollDown(force) {
    if (force || nearBottom()) list.scrollTop = list.scrollHeight;
  }

  function roleLabel(role) {
    if (role !== "owner" && role !== "admin") return null;
    const span = document.createElement("span");
    span.className = "role " + role;
    span.textContent = t(role === "owner" ? "Owner" : "Admin");
    return span;
  }

  function showNotice(text) {
    if (!notice) return;
    notice.textContent = text;
    notice.hidden = false;
    clearTimeout(showNotice.timer);
    showNotice.timer = setTimeout(() => { notice.hidden = true; }, 8000);
  }

  // --- messages --------------------------------------------------------------------------------------

  // Removed by an admin: the place in the sequence stays, the text does not (R9.2).
  function markRemoved(li) {
    li.classList.add("removed");
    const bubble = li.querySelector(".bubble");
    if (bubble) bubble.textContent = t("Removed");
    const menu = li.querySelector(".msg-menu");
    if (menu) menu.remove();
  }

  // Recalled by its sender: a line in the conversation instead of the message.
  function markRecalled(li, sender) {
    const mine = li.classList.contains("mine") || (sender && sender.id === me);
    const nickname = sender ? sender.nickname : (li.querySelector(".who") || {}).firstChild?.textContent || "";
    li.className = "msg recalled system";
    li.textContent = mine ? t("RecalledMine") : `${nickname.trim()} ${t("Recalled")}`;
  }

  // Each shown message has a menu: report for everyone, recall for its sender while the window lasts,
  // pin and delete for the owner and admins.
  function messageMenu(m) {
    const menu = menuTemplate.content.firstElementChild.cloneNode(true);
    menu.querySelectorAll("form, a").forEach((el) => {
      const attr = el.tagName === "A" ? "href" : "action";
      el.setAttribute(attr, el.getAttribute(attr).replace(/\/0\/(recall\/)?(\?|$)/, `/${m.seq}/$1$2`)
        .replace("message=0", "message=" + m.seq));
    });
    const mine = m.sender && m.sender.id === me;
    const recall = menu.querySelector("[data-part=recall]");
    if (recall && (!mine || Date.parse(m.created_at) + recallMs <= Date.now())) recall.remove();
    return menu;
  }

  // The recall entry goes when the window closes, without a reload.
  function expireRecall(li) {
    const recall = li.querySelector("[data-part=recall]");
    if (!recall) return;
    const left = Date.parse(li.dataset.at) + recallMs - Date.now();
    if (left <= 0) recall.remove();
    else setTimeout(() => recall.remove(), left);
  }

  function renderMessage(m, state) {
    const li = document.createElement("li");
    if (m.seq) li.dataset.seq = m.seq;
    li.dataset.cmid = m.client_msg_id;
    if (m.created_at) li.dataset.at = m.created_at;
    if (m.status === "recalled") {
      li.className = "msg";
      markRecalled(li, m.sender);
      return li;
    }
    const mine = m.sender && m.sender.id === me;
    li.className = "msg" + (mine ? " mine" : "") + (state ? " " + state : "")
      + ((m.mentions || []).includes(me) ? " mentions-me" : "");
    const who = document.createElement("div");
    who.className = "who";
    who.textContent = m.sender ? m.sender.nickname : "";
    const label = m.sender && roleLabel(m.sender.role);
    if (label) { who.append(" ", label); }
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.textContent = m.body;
    li.append(who);
    if (m.attachment && m.status !== "removed") li.append(attachmentNode(m.attachment));
    if (m.body || !m.attachment || m.status === "removed") li.append(bubble);
    if (m.status === "removed") {
      li.classList.add("removed");
      bubble.textContent = t("Removed");
    } else if (menuTemplate && m.seq && m.status === "visible") {
      li.append(messageMenu(m));
    }
    const when = document.createElement("time");
    when.className = "when";
    if (m.created_at) { when.setAttribute("datetime", m.created_at); when.textContent = clock(m.created_at); }
    li.append(when);
    if (mine && m.seq) {
      const sent = document.createElement("span");
      sent.className = "sent-state";
      sent.textContent = "✓";
      sent.title = t("Sent");
      when.append(" ", sent);
      expireRecall(li);
    }
    return li;
  }

  // --- pictures and files ------------------------------------------------------------------------------

  function formatSize(bytes) {
    if (bytes >= 1024 * 1024) return (bytes / (1024 * 1024)).toFixed(1) + " MB";
    if (bytes >= 1024) return Math.round(bytes / 1024) + " KB";
    return bytes + " B";
  }

  // The addresses lead to the file view, which checks the reader and hands out a short-lived link.
  function attachmentNode(a) {
    const wrap = document.createElement("div");
    wrap.className = "attachment " + a.kind;
    const link = document.createElement("a");
    link.href = a.url;
    if (a.kind === "image" && a.thumbnail_url) {
      link.target = "_blank";
      link.rel = "noopener";
      link.title = t("OpenPicture");
      const img = document.createElement("img");
      img.src = a.thumbnail_url;
      img.alt = a.name;
      img.loading = "lazy";
      img.decoding = "async";
      if (a.width && a.height) { img.width = a.width; img.height = a.height; }
      link.append(img);
    } else {
      link.className = "file-card";
      const icon = fileIcon();
      const text = document.createElement("span");
      text.className = "file-text";
      const name = document.createElement("span");
      name.className = "file-name";
      name.textContent = a.name;
      const size = document.createElement("span");
      size.className = "file-size";
      size.textContent = formatSize(a.size);
      text.append(name, size);
      link.append(icon, text);
    }
    wrap.append(link);
    return wrap;
  }

  function fileIcon() {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("class", "file-icon");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", FILE_ICON_PATH);
    svg.append(path);
    return svg;
  }

  const uploadMax = composer ? Number(composer.dataset.uploadMax || 0) : 0;

  function csrfToken() {
    const field = composer && composer.querySelector("[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  // A picture or file goes over HTTP with its progress shown; the message comes back like any other.
  function uploadFile(file) {
    const cmid = newClientId();
    const el = renderMessage({ client_msg_id: cmid, body: "", sender: { id: me, nickname: "" } }, "sending");
    el.querySelector(".who").remove();
    const card = attachmentNode({ kind: "file", name: file.name, size: file.size, url: "#" });
    card.querySelector("a").removeAttribute("href");
    const progress = document.createElement("progress");
    progress.className = "upload-progress";
    progress.max = 100;
    progress.value = 0;
    el.querySelector(".bubble").replaceWith(card, progress);
    removePlaceholder();
    list.append(el);
    pending.set(cmid, { body: "", el, upload: file, progress });
    scrollDown(true);
    if (!uploadMax) { markFailed(cmid, t("NoUploads"), "/credit/", "level_cannot_upload"); return; }
    if (file.size > uploadMax) {
      markFailed(cmid, t("TooLarge").replace("{max}", formatSize(uploadMax)), "/credit/", "file_too_large");
      return;
    }
    sendUpload(cmid);
  }

  function sendUpload(cmid) {
    const item = pending.get(cmid);
    if (!item) return;
    item.el.classList.remove("failed");
    item.el.classList.add("sending");
    const note = item.el.querySelector(".fail-note");
    if (note) note.remove();
    item.progress.value = 0;
    const form = new FormData();
    form.append("file", item.upload);
    form.append("caption", "");
    form.append("client_msg_id", cmid);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/groups/${current}/files/`);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) item.progress.value = Math.round((event.loaded * 100) / event.total);
    });
    xhr.addEventListener("load", () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
      if ((xhr.status === 200 || xhr.status === 201) && body) {
        if (body.status === "held") { item.progress.remove(); markHeld(body); } else accept(body);
        return;
      }
      markFailed(cmid, (body && body.detail) || t("ActionFailed"), body && body.action_url, body && body.code);
    });
    xhr.addEventListener("error", () => markFailed(cmid, t("ActionFailed")));
    xhr.send(form);
  }

  function removePlaceholder() {
    const placeholder = list.querySelector("li.placeholder");
    if (placeholder) placeholder.remove();
  }

  // Show a committed message exactly once, in sequence order. A message ahead of the next one waits a
  // moment (the server's workers may publish neighbours out of order); a gap that stays asks the server
  // for what is missing.
  function accept(m) {
    if (!list || m.group !== current) return;
    if (m.seq <= lastSeq) { settlePending(m); return; }
    if (m.seq > lastSeq + 1) {
      early.set(m.seq, m);
      if (!gapTimer) gapTimer = setTimeout(() => { gapTimer = null; if (early.size) requestResume(); }, 300);
      return;
    }
    show(m);
    while (early.has(lastSeq + 1)) {
      const next = early.get(lastSeq + 1);
      early.delete(lastSeq + 1);
      show(next);
    }
    early.forEach((_m, seq) => { if (seq <= lastSeq) early.delete(seq); });
    if (!early.size && gapTimer) { clearTimeout(gapTimer); gapTimer = null; }
  }

  function show(m) {
    removePlaceholder();
    const mine = pending.get(m.client_msg_id);
    const li = renderMessage(m);
    const follow = nearBottom() || (m.sender && m.sender.id === me);
    if (mine && m.sender.id === me) { mine.el.replaceWith(li); pending.delete(m.client_msg_id); }
    else {
      const firstPending = list.querySelector("li.msg.sending, li.msg.failed");
      firstPending ? list.insertBefore(li, firstPending) : list.append(li);
    }
    lastSeq = m.seq;
    if (!firstSeq) firstSeq = m.seq;
    const previous = li.previousElementSibling;
    const previousMsg = previous && previous.matches("li.msg[data-at]") ? previous : null;
    if (!previousMsg || dayKey(previousMsg.dataset.at) !== dayKey(m.created_at)) separateDays();
    if (follow) scrollDown(true);
    scheduleRead();
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
    if (!item) return;
    if (item.upload) { sendUpload(cmid); return; } // a file is sent again over HTTP, never the socket
    item.el.classList.remove("failed");
    item.el.classList.add("sending");
    const note = item.el.querySelector(".fail-note");
    if (note) note.remove();
    if (!socket || socket.readyState !== WebSocket.OPEN) return; // sent on the next hello
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

  // Refused content would be refused again, and a mute, announcement-only mode, a closed group or a
  // suspension by the platform (of the group, by an emergency measure, or of the account) will not change
  // by retrying at once either: no retry for these, only the reason (R10.1, R9.2, R11.1, R11.2, R5.1).
  const FINAL_REFUSALS = new Set([
    "content_blocked", "muted", "announcement_only", "group_not_active", "not_member", "group_pending_review",
    "group_closed", "group_posting_suspended", "emergency_posting_suspended", "posting_suspended",
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

  // --- older messages, read position, the group list -------------------------------------------------

  function showHistoryTop(text) {
    if (!historyTop) return;
    historyTop.textContent = text;
    historyTop.hidden = !text;
  }

  function loadOlder() {
    if (!current || loadingOlder || reachedStart || firstSeq <= 1) {
      if (firstSeq === 1) { reachedStart = true; showHistoryTop(t("Start")); }
      return;
    }
    loadingOlder = true;
    showHistoryTop(t("LoadingOlder"));
    fetch(`/api/groups/${encodeURIComponent(current)}/messages/?before=${firstSeq}&limit=50`, {
      credentials: "same-origin", headers: { Accept: "application/json" },
    }).then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((messages) => {
        const before = list.scrollHeight;
        const anchor = list.querySelector("li.msg, li.day, li.placeholder");
        messages.forEach((m) => {
          if (list.querySelector(`li.msg[data-seq="${m.seq}"]`)) return;
          const li = renderMessage(m);
          anchor ? list.insertBefore(li, anchor) : list.append(li);
        });
        if (messages.length) firstSeq = messages[0].seq;
        if (messages.length < 50 || firstSeq <= 1) reachedStart = true;
        separateDays();
        list.scrollTop += list.scrollHeight - before; // the member keeps looking at the same message
        showHistoryTop(reachedStart ? t("Start") : "");
      })
      .catch(() => showHistoryTop(""))
      .finally(() => { loadingOlder = false; });
  }

  function scheduleRead() {
    clearTimeout(readTimer);
    readTimer = setTimeout(sendRead, 600);
  }

  // Tell the server how far the member has read (the unread badges of their other tabs follow).
  function sendRead() {
    if (!current || document.visibilityState !== "visible" || lastSeq <= readSent) return;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    readSent = lastSeq;
    socket.send(JSON.stringify({ type: "read", group: current, seq: lastSeq }));
  }

  function sidebarItem(code) {
    return groupList.querySelector(`li[data-group="${code}"]`);
  }

  // The group list's preview must not keep text that was recalled or removed.
  function hidePreview(code, seq, text) {
    const li = sidebarItem(code);
    if (li && Number(li.dataset.lastSeq) === seq) li.querySelector(".g-last").textContent = text;
  }

  function setBadge(code, count) {
    const li = groupList.querySelector(`li[data-group="${code}"]`);
    if (!li) return;
    const badge = li.querySelector(".badge");
    badge.textContent = String(count);
    badge.hidden = count <= 0 || code === current;
  }

  function updateSidebar(m) {
    const li = groupList.querySelector(`li[data-group="${m.group}"]`);
    if (!li) return;
    const shown = m.body || (m.attachment ? t(m.attachment.kind === "image" ? "Picture" : "File") : "");
    li.querySelector(".g-last").textContent = (m.sender ? m.sender.nickname + ": " : "") + shown.slice(0, 40);
    li.querySelector(".g-time").textContent = clock(m.created_at);
    li.dataset.lastSeq = String(m.seq);
    if (m.group !== current && m.sender.id !== me) {
      setBadge(m.group, Number(li.querySelector(".badge").textContent || 0) + 1);
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

  const MEMBER_EVENTS = { joined: "Joined", left: "Left", muted: "Muted", unmuted: "Unmuted", removed: "RemovedMember" };

  function memberEvent(frame) {
    if (!list || frame.group !== current || !MEMBER_EVENTS[frame.event]) return;
    const li = document.createElement("li");
    li.className = "system";
    let text = frame.user.nickname + " " + t(MEMBER_EVENTS[frame.event]);
    if (frame.event === "muted" && frame.until) text += " " + moment(frame.until);
    li.textContent = text;
    list.append(li);
    scrollDown(false);
  }

  // --- management and recall -------------------------------------------------------------------------

  function csrfToken() {
    const field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function api(method, path, body) {
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

  function seqOf(form) {
    const match = form.getAttribute("action").match(/\/messages\/(\d+)\//);
    return match ? Number(match[1]) : 0;
  }

  function closeMenu(form) {
    const menu = form.closest("details");
    if (menu) menu.open = false;
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!current) return;
    if (form.classList.contains("msg-recall")) {
      event.preventDefault();
      const seq = seqOf(form);
      closeMenu(form);
      if (socket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ type: "recall", group: current, seq }));
      } else {
        api("POST", `/messages/${seq}/recall/`);
      }
      return;
    }
    if (!form.classList.contains("msg-manage") && !form.classList.contains("pinned-unpin")) return;
    event.preventDefault();
    const action = event.submitter ? event.submitter.value : "";
    const seq = seqOf(form);
    let done;
    if (action === "pin") done = api("PUT", "/pinned/", { seq });
    else if (action === "unpin") done = api("DELETE", "/pinned/");
    else if (action === "remove") {
      if (!window.confirm(t("ConfirmRemove"))) return;
      done = api("POST", `/messages/${seq}/remove/`, { reason: form.elements.reason.value });
    }
    if (!done) return;
    done.then((result) => {
      if (!result) return;
      if (action !== "remove") showPinned(result.pinned);
      closeMenu(form);
    });
  });

  // --- the socket ------------------------------------------------------------------------------------

  const handlers = {
    hello(frame) {
      if (frame.protocol !== PROTOCOL && banner) { banner.textContent = t("Reload"); banner.hidden = false; }
      requestResume();
      pending.forEach((item, cmid) => {
        if (!item.upload && !item.el.classList.contains("failed")) sendFrame(cmid); // uploads are on their way
      });
      readSent = 0;
      scheduleRead();
    },
    ack(frame) { frame.message.status === "held" ? markHeld(frame.message) : accept(frame.message); },
    message(frame) { accept(frame.message); updateSidebar(frame.message); },
    removed(frame) {
      hidePreview(frame.group, frame.seq, t("Removed"));
      if (!list || frame.group !== current) return;
      const li = list.querySelector(`li.msg[data-seq="${frame.seq}"]`);
      if (li) markRemoved(li);
    },
    recalled(frame) {
      hidePreview(frame.group, frame.seq, t("Recalled"));
      if (!list || frame.group !== current) return;
      const li = list.querySelector(`li.msg[data-seq="${frame.seq}"]`);
      if (li && !li.classList.contains("recalled")) markRecalled(li);
    },
    read(frame) {
      const li = sidebarItem(frame.group);
      if (li && frame.group !== current) setBadge(frame.group, Math.max(0, Number(li.dataset.lastSeq || 0) - frame.seq));
    },
    pinned(frame) { if (frame.group === current) showPinned(frame.message); },
    history(frame) {
      if (frame.group !== current) return;
      resumeInFlight = false;
      frame.messages.forEach(accept);
      if (frame.more || resumeAgain) requestResume();
    },
    member: memberEvent,
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
      showNotice(frame.message);
    },
    pong() { clearTimeout(pongTimer); pongTimer = null; },
  };

  let pongTimer = null;

  // Give up on the current socket at once (offline, or a ping unanswered): no waiting for a closing
  // handshake that may never come.
  function dropSocket() {
    clearTimeout(pongTimer);
    pongTimer = null;
    if (socket) { const old = socket; socket = null; old.close(); }
    connectionLost();
  }

  function connectionLost() {
    document.body.dataset.socket = "closed";
    if (banner) { banner.textContent = banner.dataset.reconnecting || banner.textContent; banner.hidden = false; }
    document.querySelectorAll("#messages li.msg.sending").forEach((li) => li.classList.add("waiting"));
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${window.location.host}/ws/`);
    socket = ws;
    document.body.dataset.socket = "connecting";
    ws.addEventListener("open", () => {
      if (socket !== ws) return;
      clearTimeout(pongTimer);
      pongTimer = null;
      attempts = 0;
      resumeInFlight = false;
      resumeAgain = false;
      document.body.dataset.socket = "open";
      if (banner) banner.hidden = true;
    });
    ws.addEventListener("message", (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      document.dispatchEvent(new CustomEvent("qunzu:frame", { detail: frame })); // for notify.js
      const handler = handlers[frame.type];
      if (handler) handler(frame);
    });
    ws.addEventListener("close", (event) => {
      if (socket !== ws) return; // an older socket we gave up on
      connectionLost();
      if (event.code === 4401 || event.code === 1008) return; // signed out: reconnecting will not help
      const delay = Math.min(10000, 500 * 2 ** attempts) * (0.75 + Math.random() / 2);
      attempts += 1;
      setTimeout(() => { if (socket === ws) connect(); }, delay);
    });
  }

  // A connection can die without a close (a phone changing networks): a ping unanswered in 10 s ends it,
  // and a new one is opened at once.
  setInterval(() => {
    if (!socket || socket.readyState !== WebSocket.OPEN || pongTimer) return;
    const pinged = socket;
    pinged.send(JSON.stringify({ type: "ping" }));
    pongTimer = setTimeout(() => {
      pongTimer = null;
      if (socket !== pinged) return;
      dropSocket();
      connect();
    }, 10000);
  }, 25000);

  // The browser knows when the network goes: stop using the socket at once, and come back at once.
  window.addEventListener("offline", dropSocket);
  window.addEventListener("online", () => {
    if (!socket || socket.readyState === WebSocket.CLOSED || socket.readyState === WebSocket.CLOSING) {
      attempts = 0;
      connect();
    }
  });
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") scheduleRead(); });

  // --- mentions in the composer ----------------------------------------------------------------------

  let mentionChoices = [];
  let mentionIndex = 0;

  function mentionQuery() {
    const before = input.value.slice(0, input.selectionStart);
    const match = before.match(/@([^\s@]{0,32})$/);
    return match ? match[1] : null;
  }

  function hideMentions() {
    if (mentionList) mentionList.hidden = true;
    mentionChoices = [];
  }

  function showMentions() {
    const query = mentionQuery();
    if (query === null || !mentionList) { hideMentions(); return; }
    const needle = query.toLowerCase();
    mentionChoices = memberNames.filter((name) => name.toLowerCase().includes(needle)).slice(0, 8);
    if (!mentionChoices.length) { hideMentions(); return; }
    mentionIndex = Math.min(mentionIndex, mentionChoices.length - 1);
    mentionList.replaceChildren(...mentionChoices.map((name, index) => {
      const li = document.createElement("li");
      li.textContent = "@" + name;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", String(index === mentionIndex));
      li.addEventListener("mousedown", (event) => { event.preventDefault(); chooseMention(name); });
      return li;
    }));
    mentionList.hidden = false;
  }

  function chooseMention(name) {
    const caret = input.selectionStart;
    const before = input.value.slice(0, caret).replace(/@([^\s@]{0,32})$/, () => "@" + name + " ");
    input.value = before + input.value.slice(caret);
    input.selectionStart = input.selectionEnd = before.length;
    hideMentions();
    input.focus();
  }

  // --- start -----------------------------------------------------------------------------------------

  if (banner) banner.dataset.reconnecting = banner.textContent;

  if (list) {
    list.querySelectorAll("li.msg[data-seq]").forEach((li) => {
      const seq = Number(li.dataset.seq);
      lastSeq = Math.max(lastSeq, seq);
      firstSeq = firstSeq ? Math.min(firstSeq, seq) : seq;
      if (li.classList.contains("mine")) expireRecall(li);
    });
    list.querySelectorAll("time.when").forEach((el) => { el.textContent = clock(el.getAttribute("datetime")); });
    separateDays();
    if (firstSeq === 1 || !firstSeq) { reachedStart = true; if (firstSeq === 1) showHistoryTop(t("Start")); }
    scrollDown(true);
    list.addEventListener("scroll", () => { if (list.scrollTop < 120) loadOlder(); }, { passive: true });
  }

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

  if (composer) {
    composer.addEventListener("submit", (event) => {
      event.preventDefault();
      const body = input.value.trim();
      if (!body) return;
      const cmid = newClientId();
      const el = renderMessage({ client_msg_id: cmid, body, sender: { id: me, nickname: "" } }, "sending");
      el.querySelector(".who").remove();
      removePlaceholder();
      list.append(el);
      pending.set(cmid, { body, el });
      input.value = "";
      input.style.height = "";
      hideMentions();
      scrollDown(true);
      sendFrame(cmid);
    });
    input.addEventListener("input", () => {
      input.style.height = "";
      input.style.height = Math.min(input.scrollHeight, 160) + "px";
      showMentions();
    });
    input.addEventListener("blur", () => setTimeout(hideMentions, 150));
    const attach = document.getElementById("attach-input");
    if (attach) {
      attach.addEventListener("change", () => {
        Array.from(attach.files || []).forEach(uploadFile);
        attach.value = "";
      });
    }
    // A picture pasted into the message box, or files dropped on it, are sent like chosen ones.
    input.addEventListener("paste", (event) => {
      const files = Array.from((event.clipboardData && event.clipboardData.files) || []);
      if (!files.length) return;
      event.preventDefault();
      files.forEach(uploadFile);
    });
    composer.addEventListener("dragover", (event) => { event.preventDefault(); composer.classList.add("dragging"); });
    composer.addEventListener("dragleave", () => composer.classList.remove("dragging"));
    composer.addEventListener("drop", (event) => {
      event.preventDefault();
      composer.classList.remove("dragging");
      Array.from((event.dataTransfer && event.dataTransfer.files) || []).forEach(uploadFile);
    });
    input.addEventListener("keydown", (event) => {
      if (mentionChoices.length && !mentionList.hidden) {
        if (event.key === "ArrowDown" || event.key === "ArrowUp") {
          event.preventDefault();
          const step = event.key === "ArrowDown" ? 1 : -1;
          mentionIndex = (mentionIndex + step + mentionChoices.length) % mentionChoices.length;
          showMentions();
          return;
        }
        if (event.key === "Enter" || event.key === "Tab") {
          event.preventDefault();
          chooseMention(mentionChoices[mentionIndex]);
          return;
        }
        if (event.key === "Escape") { hideMentions(); return; }
      }
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        composer.requestSubmit();
      }
    });
  }

  connect();
})();
