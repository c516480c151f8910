// The rule form: the queue, auto-cancel and clearing settings only apply when the rule parks units
// in a queue, so they are shown (and sent) only then. Without this script they are always shown,
// and the server says what does not fit.
(function () {
  "use strict";
  var kind = document.querySelector("select[data-action-kind]");
  var part = document.querySelector(".queue-only");
  if (!kind || !part) { return; }
  function follow() {
    var parks = kind.value === "queue";
    part.hidden = !parks;
    part.querySelectorAll("input, select").forEach(function (field) { field.disabled = !parks; });
  }
  kind.addEventListener("change", follow);
  follow();
})();
