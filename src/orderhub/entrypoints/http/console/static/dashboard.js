// The dashboard's charts (uPlot): per-minute counts fetched as JSON, redrawn every minute.
(function () {
  "use strict";
  var COLOURS = ["#1f5fbf", "#d9480f", "#2b8a3e", "#7048e8", "#c2255c", "#0b7285", "#e67700", "#495057"];

  function seriesOf(data, names) {
    var out = [];
    names.forEach(function (group) {
      var byName = data[group] || {};
      Object.keys(byName).forEach(function (name) {
        out.push({ label: group === "received" ? name : group + " · " + name, values: byName[name] });
      });
    });
    return out;
  }

  function draw(box, data) {
    var lines = seriesOf(data, box.getAttribute("data-series").split(","));
    box.textContent = "";
    if (!lines.length) {
      var empty = document.createElement("p");
      empty.className = "muted";
      empty.textContent = "Nothing in this period.";
      box.appendChild(empty);
      return;
    }
    var options = {
      width: Math.max(280, box.clientWidth), height: 220,
      series: [{}].concat(lines.map(function (line, i) {
        return { label: line.label, stroke: COLOURS[i % COLOURS.length], width: 1.5 };
      })),
      axes: [{}, { size: 50 }],
      scales: { x: { time: true } },
      legend: { live: false },
    };
    new uPlot(options, [data.minutes].concat(lines.map(function (l) { return l.values; })), box);
  }

  function load(box) {
    fetch(box.getAttribute("data-src"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) { if (!answer.ok) { throw new Error(answer.status); } return answer.json(); })
      .then(function (data) { draw(box, data); })
      .catch(function () { box.textContent = "The chart could not be loaded."; });
  }

  var boxes = Array.prototype.slice.call(document.querySelectorAll(".chart[data-src]"));
  boxes.forEach(load);
  if (boxes.length) { window.setInterval(function () { boxes.forEach(load); }, 60000); }
})();
