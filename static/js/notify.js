// Notifications on every page of a signed-in member: the bell's unread count, a brief toast for a new
// notice, and the new notice at the top of the notifications page, all without a reload.
// A page that runs chat.js already has the tab's socket: chat.js re-dispatches every frame it receives as a
// "qunzu:frame" event and sets window.qunzuSocket, and this script listens to those. Elsewhere it opens its
// own socket to /ws/ (one per tab), reconnecting with backoff like chat.js.
(function () {
  "use strict";
  const bell = document.getElementById("notify-bell");
  if (!bell) return; // signed out
  const countEl = bell.querySelector(".bell-count");
  const toasts = document.getElementById("notify-toasts");
  const MAX_TOASTS = 3;
  const TOAST_MS = 8000;
  let socket = null;
  let attempts = 0;
  let connectedBefore = false;
  let fetchTimer = null;

  function setCount(value) {
    const n = Math.max(0, Math.floor(Number(value)) || 0);
    bell.dataset.unread = String(n);
    countEl.textContent = n > 99 ? "99+" : String(n);
    countEl.hidden = n === 0;
    bell.classList.toggle("has-unread", n > 0);
    bell.setAttribute("aria-label", n ? bell.dataset.labelSome.replace("{n}", String(n)) : bell.dataset.labelNone);
    document.querySelectorAll("[data-notify-when-unread]").forEach((el) => { el.hidden = n === 0; });
    if (n === 0) showAllRead();
  }

  // The count for a frame that carries none (a group notice), or after the socket was away. Spread a little,
  // so that a notice to a large group does not bring every member's tabs to the server in the same instant.
  function fetchCount(spread) {
    clearTimeout(fetchTimer);
    fetchTimer = setTimeout(() => {
      fetch(bell.dataset.countUrl, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
        .then((response) => (response.ok ? response.json() : null))
        .then((data) => { if (data && typeof data.unread === "number") setCount(data.unread); })
        .catch(() => {});
    }, spread ? Math.random() * spread : 0);
  }

  // Following a notice's link reads it. A plain click waits (briefly) for that before leaving, so that the
  // next page already counts it; a click that opens another tab only sends it.
  function markRead(scope, id) {
    const token = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (!token || !bell.dataset.readUrl) return Promise.resolve();
    const body = new FormData();
    body.append("csrfmiddlewaretoken", token.value);
    body.append("scope", scope);
    body.append("id", String(id));
    return fetch(bell.dataset.readUrl, {
      method: "POST", body, keepalive: true, credentials: "same-origin", headers: { Accept: "application/json" },
    }).then((response) => (response.ok ? response.json() : null))
      .then((data) => { if (data && typeof data.unread === "number") setCount(data.unread); })
      .catch(() => {});
  }

  function readThenFollow(event, link, scope, id) {
    const plain = event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey;
    if (!plain) { markRead(scope, id); return; }
    event.preventDefault();
    const href = link.href;
    Promise.race([markRead(scope, id), new Promise((done) => setTimeout(done, 1500))])
      .then(() => { window.location.href = href; });
  }

  document.addEventListener("click", (event) => {
    const title = event.target.closest("#notification-list li.unread a.n-title");
    if (!title) return;
    const form = title.closest("li").querySelector("form.n-read");
    if (form) readThenFollow(event, title, form.elements.scope.value, form.elements.id.value);
  });

  function localLink(link) {
    return typeof link === "string" && link.startsWith("/") && !link.startsWith("//") && !link.includes("\\") ? link : "";
  }

  function when(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return "";
    const parts = {};
    new Intl.DateTimeFormat("en-GB", {
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
      timeZone: document.body.dataset.tz || undefined,
    }).formatToParts(d).forEach((p) => { parts[p.type] = p.value; });
    return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
  }

  // --- toasts ------------------------------------------------------------------------------------------

  function dismiss(el) {
    if (!el.isConnected) return;
    clearTimeout(el._timer);
    el.classList.add("leaving");
    setTimeout(() => el.remove(), 200);
  }

  // Just below the header while it is in view, else at the top of the window.
  function placeToasts() {
    if (!toasts) return;
    const header = document.querySelector(".topbar");
    const bottom = header ? header.getBoundingClientRect().bottom : 0;
    toasts.style.top = Math.max(8, Math.round(bottom) + 8) + "px";
  }
  window.addEventListener("resize", placeToasts);

  function toast(n) {
    if (!toasts) return;
    placeToasts();
    const el = document.createElement("div");
    el.className = "toast sev-" + (n.severity || "info");
    el.setAttribute("role", "status");
    const link = localLink(n.link);
    const main = document.createElement(link ? "a" : "div");
    main.className = "toast-main";
    if (link) {
      main.href = link;
      main.addEventListener("click", (event) => readThenFollow(event, main, n.scope, n.id));
    }
    const title = document.createElement("strong");
    title.className = "toast-title";
    title.textContent = n.title || "";
    main.append(title);
    if (n.body) {
      const body = document.createElement("span");
      body.className = "toast-body";
      body.textContent = n.body;
      main.append(body);
    }
    const close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", toasts.dataset.dismiss || "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", () => dismiss(el));
    el.append(main, close);
    toasts.append(el);
    while (toasts.children.length > MAX_TOASTS) toasts.firstElementChild.remove(); // the oldest gives way
    const start = () => { clearTimeout(el._timer); el._timer = setTimeout(() => dismiss(el), TOAST_MS); };
    el.addEventListener("mouseenter", () => clearTimeout(el._timer));
    el.addEventListener("focusin", () => clearTimeout(el._timer));
    el.addEventListener("mouseleave", start);
    el.addEventListener("focusout", start);
    start();
  }

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && toasts && toasts.lastElementChild) dismiss(toasts.lastElementChild);
  });

  // --- the notifications page --------------------------------------------------------------------------

  function prepend(n) {
    const list = document.getElementById("notification-list");
    const template = document.getElementById("notification-item-template");
    if (!list || !template) return false;
    if (list.dataset.kind && list.dataset.kind !== n.kind) return false; // filtered out
    const key = `${n.scope}-${n.id}`;
    if (list.querySelector(`li[data-key="${CSS.escape(key)}"]`)) return true;
    const li = template.content.firstElementChild.cloneNode(true);
    li.dataset.key = key;
    li.dataset.kind = n.kind || "";
    li.className = `n-item sev-${n.severity || "info"} unread fresh`;
    const link = localLink(n.link);
    const title = li.querySelector(".n-title");
    const shown = document.createElement(link ? "a" : "strong");
    shown.className = "n-title";
    if (link) shown.href = link;
    shown.textContent = n.title || "";
    title.replaceWith(shown);
    if (n.severity !== "critical") li.querySelectorAll(".n-tag").forEach((tag) => tag.remove());
    const body = li.querySelector(".n-body");
    body.textContent = n.body || "";
    body.hidden = !n.body;
    const time = li.querySelector("time");
    time.setAttribute("datetime", n.created_at || "");
    time.textContent = when(n.created_at);
    li.querySelector(".n-group").hidden = n.scope !== "group";
    const form = li.querySelector("form.n-read");
    if (form) {
      form.elements.scope.value = n.scope;
      form.elements.id.value = String(n.id);
    }
    list.prepend(li);
    const empty = document.getElementById("notification-empty");
    if (empty) empty.hidden = true;
    return true;
  }

  // Everything was read (in this tab or another): the list shows it without a reload.
  function showAllRead() {
    document.querySelectorAll("#notification-list li.unread").forEach((li) => {
      li.classList.remove("unread", "fresh");
      li.querySelectorAll("form.n-read, .n-unread-label").forEach((el) => el.remove());
    });
  }

  // --- frames ------------------------------------------------------------------------------------------

  // R5.1: a platform-wide notice from a supervisor, shown at the top of every page while in force.
  function showSystemNotice(frame) {
    const box = document.getElementById("platform-notices");
    if (!box || typeof frame.id !== "number") return;
    let line = box.querySelector(`[data-notice-id="${frame.id}"]`);
    if (!frame.text) {
      if (line) line.remove();
    } else {
      if (!line) {
        line = document.createElement("p");
        line.dataset.noticeId = String(frame.id);
        box.appendChild(line);
      }
      line.textContent = frame.text;
    }
    box.hidden = !box.querySelector("[data-notice-id]");
  }

  function onFrame(frame) {
    if (!frame || typeof frame !== "object") return;
    if (frame.type === "notification" && frame.notification) {
      if (typeof frame.unread === "number") setCount(frame.unread);
      else fetchCount(1500); // a group notice: the count is this member's own
      if (!prepend(frame.notification)) toast(frame.notification);
    } else if (frame.type === "notification_count") {
      setCount(frame.unread);
    } else if (frame.type === "system_notice") {
      showSystemNotice(frame);
    } else if (frame.type === "hello") {
      if (connectedBefore) fetchCount(0); // notices may have come while the socket was away
      connectedBefore = true;
    }
  }

  document.addEventListener("qunzu:frame", (event) => onFrame(event.detail));

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${window.location.host}/ws/`);
    document.body.dataset.socket = "connecting";
    socket.addEventListener("open", () => {
      attempts = 0;
      document.body.dataset.socket = "open";
    });
    socket.addEventListener("message", (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      onFrame(frame);
    });
    socket.addEventListener("close", (event) => {
      document.body.dataset.socket = "closed";
      if (event.code === 4401 || event.code === 1008) return; // signed out: reconnecting will not help
      const delay = Math.min(10000, 500 * 2 ** attempts) * (0.75 + Math.random() / 2);
      attempts += 1;
      setTimeout(connect, delay);
    });
  }

  // A page restored from the back-forward cache shows the count of when it was left.
  window.addEventListener("pageshow", (event) => { if (event.persisted) fetchCount(0); });

  function start() {
    if (!window.qunzuSocket) connect(); // chat.js (deferred, so it has run by now) owns the socket here
  }
  // Deferred scripts run before DOMContentLoaded, in order: by then chat.js has said whether it is here.
  if (document.readyState === "complete") start();
  else document.addEventListener("DOMContentLoaded", start);
})();
