// The measures form of a case (the case page and the review queue's item page): only the fields of the
// chosen measure are shown (a duration for the timed ones, "permanent" where it may be, the points for
// credit, the level for a level cap, the role for a blacklisting); the others are hidden and disabled, so
// they are not sent (the server ignores them anyway). The duration follows the escalation ladder's default
// for the chosen measure and target (the server uses the same default when the field is left empty).
// Without this script every field is shown and the form works the same.
(function () {
  "use strict";
  var OPTIONAL = ["blacklist_role", "duration_hours", "permanent", "points", "level"];
  document.querySelectorAll("form.measures-form[data-ladder]").forEach(function (form) {
    var ladder = {};
    var fields = {};
    try { ladder = JSON.parse(form.dataset.ladder || "{}"); } catch (e) { ladder = {}; }
    try { fields = JSON.parse(form.dataset.fields || "{}"); } catch (e) { fields = {}; }
    var kind = form.querySelector("[name=kind]");
    var target = form.querySelector("[name=target]");
    var hours = form.querySelector("[name=duration_hours]");
    var permanent = form.querySelector("[name=permanent]");
    var points = form.querySelector("[name=points]");

    function show() {
      var shown = kind && fields[kind.value];
      if (!shown) { return; }  // an unknown kind: leave everything as it is
      OPTIONAL.forEach(function (name) {
        var input = form.querySelector("[name=" + name + "]");
        if (!input) { return; }
        var on = shown.indexOf(name) !== -1;
        var box = input.closest(".field") || input;
        box.hidden = !on;
        input.disabled = !on;
      });
    }
    function fill() {
      var entry = ladder[(target && target.value) + ":" + (kind && kind.value)];
      if (!entry) { return; }
      if (hours) { hours.value = entry.hours ? entry.hours : ""; }
      if (permanent) { permanent.checked = !!entry.permanent; }
      if (points && entry.points) { points.value = entry.points; }
    }
    if (kind) { kind.addEventListener("change", function () { show(); fill(); }); }
    if (target) { target.addEventListener("change", fill); }
    show();
    if (hours && hours.value === "") { fill(); }
  });
})();
