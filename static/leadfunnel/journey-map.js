/* The journey map: dagre lays the graph out, this draws it as SVG from the page's
   json_script data. No build step. Nodes and "+" buttons are focusable (Enter or Space
   opens them, as a click does) and open their form beside the map through htmx. */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var NODE_WIDTH = 250;
  var LINE = 16;
  var PLUS = 22;

  if (window.htmx) {
    // A form with errors comes back as 400: show it (the view retargets it to the panel).
    window.htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "400", swap: true, error: false },
      { code: "[45]..", swap: false, error: true }
    ];
  }

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (parent) parent.appendChild(node);
    return node;
  }

  function text(parent, x, y, content, cls) {
    var t = el("text", { x: x, y: y, "class": cls || "" }, parent);
    t.textContent = content;
    return t;
  }

  function clip(value, max) {
    value = String(value || "");
    return value.length > max ? value.slice(0, max - 1) + "…" : value;
  }

  function open(url) {
    if (!window.htmx) { window.location.assign(url); return; }
    window.htmx.ajax("GET", url, { target: "#node-panel" }).then(function () {
      var heading = document.getElementById("panel-heading");
      if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
    });
  }

  function activate(target, url) {
    target.addEventListener("click", function () { open(url); });
    target.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); open(url); }
    });
  }

  function nodeHeight(node) {
    var lines = 3 + node.figures.length;
    var extra = node.split ? 20 + LINE * 2 : 0;
    return 14 + lines * LINE + extra;
  }

  function draw() {
    var canvas = document.getElementById("journey-canvas");
    var source = document.getElementById("journey-data");
    // After an htmx swap the editor (and so the canvas) is new; an old one is drawn already.
    if (!canvas || !source || !window.dagre || canvas.dataset.drawn) return;
    var data = JSON.parse(source.textContent);
    canvas.dataset.drawn = "1";
    if (!data.nodes.length) return;

    var graph = new window.dagre.graphlib.Graph({ multigraph: true });
    graph.setGraph({ rankdir: "TB", nodesep: 40, ranksep: 60, marginx: 20, marginy: 20 });
    graph.setDefaultEdgeLabel(function () { return {}; });
    var byId = {};
    data.nodes.forEach(function (node) {
      byId[node.id] = node;
      graph.setNode("n" + node.id, { width: NODE_WIDTH, height: nodeHeight(node), node: node });
    });
    // Left to right as the ports are listed (conditions or variants in order, "otherwise"
    // and "timed out" last): dagre's crossing reduction alone drew them the other way round.
    var constraints = [];
    data.nodes.forEach(function (node) {
      var previous = null;
      node.arrows.forEach(function (arrow) {
        var labelWidth = arrow.label ? Math.min(arrow.label.length * 7 + 16, 180) : 0;
        var edge = { arrow: arrow, source: node, width: labelWidth + PLUS + 6, height: 24, labelpos: "c" };
        var to = null;
        if (arrow.target && byId[arrow.target]) {
          to = "n" + arrow.target;
        } else if (arrow.addUrl) {
          to = "end" + node.id + arrow.port;
          graph.setNode(to, { width: 34, height: 34, end: true, arrow: arrow, source: node });
        }
        if (!to) return;
        graph.setEdge("n" + node.id, to, edge, arrow.port);
        arrow.edgeKey = { v: "n" + node.id, w: to, name: arrow.port };
        if (previous && previous !== to) constraints.push({ left: previous, right: to });
        previous = to;
      });
    });
    window.dagre.layout(graph, { constraints: constraints });

    var size = graph.graph();
    var svg = el("svg", {
      width: Math.ceil(size.width), height: Math.ceil(size.height),
      viewBox: "0 0 " + Math.ceil(size.width) + " " + Math.ceil(size.height),
      role: "group", "aria-label": "Journey map", "class": "jm-svg"
    }, canvas);
    var defs = el("defs", {}, svg);
    var marker = el("marker", { id: "jm-arrow", viewBox: "0 0 10 10", refX: 10, refY: 5,
      markerWidth: 8, markerHeight: 8, orient: "auto-start-reverse" }, defs);
    el("path", { d: "M 0 0 L 10 5 L 0 10 z", "class": "jm-arrowhead" }, marker);

    // The lines go underneath; everything focusable comes after, in the list's order (a
    // node, then the "+" of each of its arrows), so Tab follows the flow of the journey.
    var edgesLayer = el("g", { "class": "jm-edges" }, svg);
    graph.edges().forEach(function (e) {
      var points = graph.edge(e).points;
      var d = "M " + points[0].x + " " + points[0].y;
      for (var i = 1; i < points.length; i++) d += " L " + points[i].x + " " + points[i].y;
      var isEnd = graph.node(e.w).end;
      el("path", { d: d, "class": "jm-edge" + (isEnd ? " jm-edge-open" : ""),
        "marker-end": isEnd ? "" : "url(#jm-arrow)" }, edgesLayer);
    });

    var nodesLayer = el("g", { "class": "jm-nodes" }, svg);
    data.nodes.forEach(function (node) {
      drawNode(nodesLayer, graph.node("n" + node.id));
      node.arrows.forEach(function (arrow) {
        if (arrow.edgeKey) drawArrow(nodesLayer, graph, arrow, byId);
      });
    });
  }

  function drawArrow(parent, graph, arrow, byId) {
    var edge = graph.edge(arrow.edgeKey);
    var end = graph.node(arrow.edgeKey.w);
    var x = edge.x - edge.width / 2;
    if (arrow.label) {
      var width = edge.width - PLUS - 6;
      el("rect", { x: x, y: edge.y - 10, width: width, height: 20, rx: 4, "class": "jm-label-bg" }, parent);
      text(parent, x + width / 2, edge.y + 4, clip(arrow.label, 24), "jm-label");
      x += width + 6;
    }
    if (end.end) {
      plus(parent, end.x, end.y, arrow.addUrl,
        "Add a node after " + end.source.name + (arrow.label ? " (" + arrow.label + ")" : ""), true);
    } else if (arrow.insertUrl) {
      var target = byId[arrow.target];
      plus(parent, x + PLUS / 2, edge.y, arrow.insertUrl,
        "Add a node between " + edge.source.name + " and " + (target ? target.name : "the next node") +
        (arrow.label ? " (" + arrow.label + ")" : ""));
    }
  }

  // Shortens `t`'s text with "…" until it is at most `width` wide (the full text stays in
  // a <title> beside it, for the tooltip).
  function fit(t, width) {
    var full = t.textContent;
    var kept = full.length;
    while (kept > 1 && t.getComputedTextLength() > width) {
      kept -= 1;
      t.textContent = full.slice(0, kept) + "…";
    }
  }

  function plus(parent, x, y, url, label, big) {
    var r = big ? 15 : PLUS / 2;
    var g = el("g", { "class": "jm-plus", role: "button", tabindex: "0", "aria-label": label,
      "data-url": url, transform: "translate(" + x + "," + y + ")" }, parent);
    var title = el("title", {}, g);
    title.textContent = label;
    el("circle", { r: r, "class": "jm-plus-circle" }, g);
    text(g, 0, 5, "+", "jm-plus-text");
    activate(g, url);
  }

  function drawNode(parent, box) {
    var node = box.node;
    var x = box.x - box.width / 2;
    var y = box.y - box.height / 2;
    // No aria-label: the box's own text is its name, so what is seen is what is heard
    // (axe's label-content-name-mismatch), figures and variants included.
    var g = el("g", { "class": "jm-node jm-kind-" + node.kind, role: "button", tabindex: "0",
      "data-node": node.id, "data-name": node.name, "data-kind": node.kindLabel }, parent);
    el("rect", { x: x, y: y, width: box.width, height: box.height, rx: 8, "class": "jm-box" }, g);
    el("rect", { x: x, y: y, width: 6, height: box.height, rx: 3, "class": "jm-stripe" }, g);
    var line = y + 20;
    text(g, x + 16, line, node.kindLabel + (node.start ? " · start" : ""), "jm-kind");
    line += LINE + 2;
    text(g, x + 16, line, clip(node.name, 30), "jm-name");
    line += LINE;
    text(g, x + 16, line, clip(node.summary, 36), "jm-summary");
    node.figures.forEach(function (figure) {
      line += LINE;
      text(g, x + 16, line, clip(figure, 40), "jm-figure");
    });
    if (node.split) {
      var variants = node.split.variants;
      var colWidth = (box.width - 24) / variants.length;
      line += 10;
      variants.forEach(function (v, index) {
        var cx = x + 12 + index * colWidth;
        var title = (v.winner ? "★ " : "") + v.label + " " + v.weight + "%";
        var figure = v.sent + " sent · " + v.rate;
        var cell = el("g", { "class": "jm-variant-cell" }, g);
        el("title", {}, cell).textContent = "Variant " + title + (v.winner ? " (winner)" : "") + ": " + figure;
        el("rect", { x: cx + 2, y: line, width: colWidth - 4, height: LINE * 2 + 6, rx: 4,
          "class": "jm-variant" + (v.winner ? " jm-winner" : "") }, cell);
        fit(text(cell, cx + colWidth / 2, line + LINE - 2, title, "jm-variant-title"), colWidth - 10);
        fit(text(cell, cx + colWidth / 2, line + LINE * 2 - 1, figure, "jm-variant-figure"), colWidth - 10);
      });
    }
    activate(g, node.url);
  }

  // A trigger form shows the fields its kind uses (all of them without JavaScript).
  var TRIGGER_FIELDS = {
    form: ["page"], page_view: ["url", "count", "within_days"], link_click: ["url"],
    custom_event: ["name"], score: ["at_least"], temperature: ["temperature"], stage: ["stage"],
    segment: ["segment"]
  };

  function triggerFields() {
    document.querySelectorAll(".journey-trigger").forEach(function (form) {
      var kind = form.querySelector('[data-field="kind"] select');
      if (!kind) return;
      var show = function () {
        var wanted = TRIGGER_FIELDS[kind.value] || [];
        form.querySelectorAll(".journey-field[data-field]").forEach(function (field) {
          var name = field.getAttribute("data-field");
          field.hidden = name !== "kind" && wanted.indexOf(name) === -1;
        });
      };
      if (!kind.dataset.watched) {
        kind.dataset.watched = "1";
        kind.addEventListener("change", show);
      }
      show();
    });
  }

  // A branch condition shows the inputs its field uses, likewise.
  var LEAD_FIELD = ["op", "value", "label"];
  var CONDITION_FIELDS = {
    owner_set: ["value", "label"], answer: ["key", "op", "value", "label"],
    opened: ["email_node", "within_days", "label"], clicked: ["email_node", "within_days", "label"],
    not_opened: ["email_node", "within_days", "label"],
    not_clicked: ["email_node", "within_days", "label"],
    visited: ["url", "within_days", "label"], booked: ["within_days", "label"],
    segment: ["op", "segment", "label"]
  };

  function conditionFields() {
    document.querySelectorAll(".journey-condition").forEach(function (box) {
      var select = box.querySelector('[data-field="field"] select');
      if (!select) return;
      var show = function () {
        var wanted = select.value ? (CONDITION_FIELDS[select.value] || LEAD_FIELD) : [];
        box.querySelectorAll(".journey-field[data-field]").forEach(function (field) {
          var name = field.getAttribute("data-field");
          field.hidden = ["field", "DELETE"].indexOf(name) === -1 && wanted.indexOf(name) === -1;
        });
      };
      if (!select.dataset.watched) {
        select.dataset.watched = "1";
        select.addEventListener("change", show);
      }
      show();
    });
  }

  function ready() { draw(); triggerFields(); conditionFields(); }
  document.addEventListener("DOMContentLoaded", ready);
  document.addEventListener("htmx:afterSettle", ready);
})();
