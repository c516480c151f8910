// The error log's pages: tidy filter URLs, and put the cursor where the edited JSON went wrong.
(function () {
  "use strict";

  // Empty filters are left out of the URL, so a bookmarked view says only what it filters on.
  var filters = document.querySelector("form.error-filters");
  if (filters) {
    filters.addEventListener("submit", function () {
      Array.prototype.forEach.call(filters.elements, function (field) {
        if (field.name && !field.value) { field.disabled = true; }
      });
    });
    // Coming back to the page (history), the fields must be usable again.
    window.addEventListener("pageshow", function () {
      Array.prototype.forEach.call(filters.elements, function (field) {
        if (field.name) { field.disabled = false; }
      });
    });
  }

  // The failing field may be far down a long payload: scroll the payload box (not the page) to it.
  var mark = document.querySelector("pre.payload mark.field");
  if (mark) {
    var box = mark.closest("pre");
    box.scrollTop = Math.max(0, mark.offsetTop - box.offsetTop - box.clientHeight / 3);
  }

  // The server names the line and column of invalid JSON; select that spot in the textarea.
  var payload = document.querySelector("textarea[data-line]");
  if (payload) {
    var line = parseInt(payload.getAttribute("data-line"), 10);
    var column = parseInt(payload.getAttribute("data-column"), 10);
    var lines = payload.value.split("\n");
    var offset = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) { offset += lines[i].length + 1; }
    var here = lines[Math.min(line, lines.length) - 1] || "";
    // The column counts characters; JavaScript strings count UTF-16 units (an emoji is two).
    offset += Array.from(here).slice(0, Math.max(0, column - 1)).join("").length;
    payload.focus();
    payload.setSelectionRange(offset, Math.min(offset + 1, payload.value.length));
    var height = payload.scrollHeight / Math.max(1, lines.length);
    payload.scrollTop = Math.max(0, (line - 5) * height);
  }
})();
