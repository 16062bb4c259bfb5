// Keyboard shortcuts of the review queue (R12.1), documented on each page under "Keyboard shortcuts" (`?`).
// Any element with data-key="x" is pressed by the key x; the list adds j/k to move, o/Enter to open, x to
// select. Nothing happens while a text field has the focus (Esc leaves it) or with Ctrl, Alt or Meta held.
(() => {
  "use strict";
  const help = document.querySelector("#rq-help details");
  const rows = () => Array.from(document.querySelectorAll("[data-review-row]"));
  let current = -1;

  const typing = (el) => !!el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName) && el.type !== "checkbox");

  function select(index) {
    const list = rows();
    if (!list.length) return;
    current = Math.max(0, Math.min(index, list.length - 1));
    list.forEach((row, i) => row.classList.toggle("current", i === current));
    const link = list[current].querySelector("a");
    if (link) link.focus({ preventScroll: false });
  }

  function press(target) {
    if (target.tagName === "BUTTON" && target.form) {
      target.form.requestSubmit(target);  // runs the form's validation (a required outcome must be filled)
    } else {
      target.click();
    }
  }

  // Bulk decisions ask before removing (the form says how many are selected).
  const bulk = document.getElementById("rq-bulk");
  if (bulk) {
    bulk.addEventListener("submit", (event) => {
      const picked = bulk.querySelectorAll("input[name=items]:checked").length;
      if (!picked || !window.confirm(`${bulk.dataset.confirm} (${picked})`)) event.preventDefault();
    });
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (event.key === "Escape") {
      if (typing(document.activeElement)) document.activeElement.blur();
      else if (help && help.open) help.open = false;
      return;
    }
    if (typing(event.target)) return;
    if (event.key === "?") {
      if (help) { help.open = !help.open; if (help.open) help.scrollIntoView({ block: "nearest" }); }
      event.preventDefault();
      return;
    }
    const list = rows();
    if (list.length && (event.key === "j" || event.key === "k")) {
      select(current + (event.key === "j" ? 1 : -1));
      event.preventDefault();
      return;
    }
    if (list.length && current >= 0 && (event.key === "o" || event.key === "Enter")) {
      const link = list[current].querySelector("a");
      if (link) { link.click(); event.preventDefault(); }
      return;
    }
    if (list.length && current >= 0 && event.key === "x") {
      const box = list[current].querySelector("input[type=checkbox]");
      if (box) { box.checked = !box.checked; event.preventDefault(); }
      return;
    }
    const target = document.querySelector(`[data-key="${CSS.escape(event.key)}"]`);
    if (target && !target.disabled) {
      event.preventDefault();
      press(target);
    }
  });
})();
