// The case page's measures form: the duration follows the escalation ladder's default for the chosen
// measure and target (the server uses the same default when the field is left empty).
(function () {
  "use strict";
  document.querySelectorAll("form.measures-form[data-ladder]").forEach(function (form) {
    var ladder = {};
    try { ladder = JSON.parse(form.dataset.ladder || "{}"); } catch (e) { return; }
    var kind = form.querySelector("[name=kind]");
    var target = form.querySelector("[name=target]");
    var hours = form.querySelector("[name=duration_hours]");
    var permanent = form.querySelector("[name=permanent]");
    var points = form.querySelector("[name=points]");
    function fill() {
      var entry = ladder[(target && target.value) + ":" + (kind && kind.value)];
      if (!entry) { return; }
      if (hours) { hours.value = entry.hours ? entry.hours : ""; }
      if (permanent) { permanent.checked = !!entry.permanent; }
      if (points && entry.points) { points.value = entry.points; }
    }
    if (kind) { kind.addEventListener("change", fill); }
    if (target) { target.addEventListener("change", fill); }
    if (hours && hours.value === "") { fill(); }
  });
})();
