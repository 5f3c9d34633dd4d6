/* A journey's report: the per-node funnel as a bar chart, from json_script data. */
(function () {
  "use strict";

  var palette = ["#0d6efd", "#198754", "#0f766e", "#995c00", "#6f42c1"];

  function draw() {
    var source = document.getElementById("journey-report-data");
    var canvas = document.getElementById("journey-funnel-chart");
    if (!source || !canvas || !window.Chart) return;
    var figures = JSON.parse(source.textContent);
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: figures.labels,
        datasets: figures.series.map(function (s, i) {
          return { label: s.label, data: s.data, backgroundColor: palette[i % palette.length] };
        })
      },
      options: { indexAxis: "y", maintainAspectRatio: false, animation: false,
                 scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
