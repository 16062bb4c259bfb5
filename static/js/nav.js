// The header's staff menu is a <details> element: it opens and closes without this script, by mouse,
// touch and keyboard (Enter or Space on its summary). This only adds what a menu is expected to do: Escape
// closes it (the focus goes back to its summary), and a click or focus outside it closes it.
(function () {
  "use strict";
  document.querySelectorAll("details.navmenu").forEach(function (menu) {
    var summary = menu.querySelector("summary");
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && menu.open) {
        menu.open = false;
        if (summary) { summary.focus(); }
      }
    });
    document.addEventListener("click", function (event) {
      if (menu.open && !menu.contains(event.target)) { menu.open = false; }
    });
    document.addEventListener("focusin", function (event) {
      if (menu.open && !menu.contains(event.target)) { menu.open = false; }
    });
  });
})();
