// Live charts: every element with data-chart-url is drawn with uPlot from JSON of the shape
// {"x": [unix seconds...], "series": [{"label": "...", "values": [...]}]} and redrawn every
// data-chart-seconds (default 5). The pages' tables refresh themselves through htmx.
(function () {
  "use strict";
  var palette = ["#0b5cad", "#b3261e", "#1b7f3b", "#8a4baf", "#a05a00", "#00727a"];

  function draw(element) {
    if (element.dataset.chartReady) return;
    element.dataset.chartReady = "1";
    var plot = null;
    var url = element.dataset.chartUrl;
    var every = Number(element.dataset.chartSeconds || "5") * 1000;

    function options(data) {
      return {
        width: Math.max(element.clientWidth, 300),
        height: Number(element.dataset.chartHeight || "220"),
        series: [{}].concat(data.series.map(function (s, i) {
          return { label: s.label, stroke: palette[i % palette.length], width: 2 };
        })),
        axes: [{}, { label: element.dataset.chartUnit || "" }],
      };
    }

    function refresh() {
      fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) return;
          var columns = [data.x].concat(data.series.map(function (s) { return s.values; }));
          if (plot && plot.series.length === columns.length) {
            plot.setData(columns);
          } else {
            if (plot) plot.destroy();
            plot = new uPlot(options(data), columns, element);
          }
        })
        .catch(function () { /* the next refresh tries again */ });
    }

    refresh();
    setInterval(refresh, every);
  }

  function drawAll(root) {
    if (typeof uPlot === "undefined") return;
    root.querySelectorAll("[data-chart-url]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:load", function (event) { drawAll(event.target); });
})();
