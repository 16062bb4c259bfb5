// Small behaviours of ordinary pages, bound from data attributes: the Content-Security-Policy allows no
// inline script and no handler attributes (onclick=…), so pages say what they want and this file does it.
//   data-confirm="text"   on a form (asked before it is sent) or a button (asked before it submits)
//   data-check-all=".sel" on a checkbox: ticks or clears every box matching the selector
//   data-copy="#input"    on a button: copies the input's value; data-copied is the label shown after
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var question = (button && button.dataset.confirm) || form.dataset.confirm;
    if (question && !window.confirm(question)) { event.preventDefault(); }
  }, true);
  document.querySelectorAll("[data-check-all]").forEach(function (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll(all.dataset.checkAll).forEach(function (box) { box.checked = all.checked; });
    });
  });
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.querySelector(button.dataset.copy);
      if (!input) { return; }
      input.select();
      (navigator.clipboard ? navigator.clipboard.writeText(input.value) : Promise.reject())
        .catch(function () { document.execCommand("copy"); });
      if (button.dataset.copied) { button.textContent = button.dataset.copied; }
    });
  });
})();
