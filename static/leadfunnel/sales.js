/* Sales pages: charts from json_script data, and htmx error messages. No build step. */
(function () {
  "use strict";

  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  var palette = ["#b02a37", "#0d6efd", "#995c00", "#198754", "#6f42c1", "#0dcaf0", "#495057"];

  function scoreChart() {
    var points = data("score-history");
    var canvas = document.getElementById("score-chart");
    if (!points || !canvas || !window.Chart) return;
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: points.map(function (p) { return new Date(p.at).toLocaleDateString(); }),
        datasets: [{ label: "Score", data: points.map(function (p) { return p.score; }),
                     borderColor: palette[0], tension: 0.2, pointRadius: 2 }]
      },
      options: { maintainAspectRatio: false, plugins: { legend: { display: false } } }
    });
  }

  function metricsCharts() {
    var figures = data("metrics-data");
    if (!figures || !window.Chart) return;
    var funnel = document.getElementById("funnel-chart");
    if (funnel) {
      new window.Chart(funnel, {
        type: "bar",
        data: { labels: figures.funnel.labels,
                datasets: [{ label: "Leads", data: figures.funnel.data, backgroundColor: palette[1] }] },
        options: { indexAxis: "y", maintainAspectRatio: false, plugins: { legend: { display: false } } }
      });
    }
    var daily = document.getElementById("daily-chart");
    if (daily) {
      new window.Chart(daily, {
        type: "bar",
        data: { labels: figures.daily.days,
                datasets: figures.daily.series.map(function (s, i) {
                  return { label: s.label, data: s.data, backgroundColor: palette[i % palette.length] };
                }) },
        options: { maintainAspectRatio: false,
                   scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }
      });
    }
  }

  // htmx leaves the page as it was on a 4xx: say why instead of failing silently.
  document.addEventListener("htmx:responseError", function (event) {
    var message = event.detail.xhr.responseText || "That did not work; reload and try again.";
    var box = document.createElement("div");
    box.className = "alert alert-danger py-2";
    box.setAttribute("role", "alert");
    box.textContent = message;
    var main = document.querySelector("main .container-fluid, main .container-xl");
    if (main) main.prepend(box);
  });

  // Signed out meanwhile: the poll was redirected to the login page; show it whole.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var url = event.detail.xhr.responseURL || "";
    if (url.indexOf("/accounts/login/") !== -1) window.location.assign(url);
  });

  scoreChart();
  metricsCharts();
})();
