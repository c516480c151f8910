// The console's only script of its own (no inline scripts anywhere: the Content-Security-Policy forbids them).
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute("content") : "";

  // Every htmx request carries the session's CSRF token, as every form does.
  document.addEventListener("htmx:configRequest", function (event) {
    if (token) { event.detail.headers["X-CSRF-Token"] = token; }
  });

  // <form data-confirm="..."> asks before it is sent (bulk actions say how many records they touch).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  }, true);
})();
