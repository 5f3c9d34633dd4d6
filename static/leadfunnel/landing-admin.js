// The landing-page change form: a live preview that follows the fields as the marketer
// types (POSTed with the form's own CSRF token to the admin's preview URL, which renders
// and saves nothing), and the page-type presets that fill a new page's copy and fields.
// The admin loads form media in <head>, so this waits for the form to exist.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var form = document.getElementById("landingpage_form");
  if (!form) { return; }

  var panel = form.querySelector(".lf-live-preview");
  if (panel) {
    var frame = panel.querySelector("iframe");
    var status = panel.querySelector(".lf-preview-status");
    var timer = null, pending = null, sent = 0;
    var refresh = function () {
      var number = ++sent;
      if (pending) { pending.abort(); }
      pending = new AbortController();
      fetch(panel.getAttribute("data-preview-url"), {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        signal: pending.signal, headers: {"X-Requested-With": "fetch"}
      }).then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      }).then(function (html) {
        if (number !== sent) { return; }
        frame.srcdoc = html;
        frame.setAttribute("data-version", String(number));
        status.textContent = "Not saved: this preview follows the form as you type.";
      }).catch(function (error) {
        if (error.name !== "AbortError") { status.textContent = "The preview could not be updated (" + error.message + ")."; }
      });
    };
    var soon = function () { clearTimeout(timer); timer = setTimeout(refresh, 300); };
    form.addEventListener("input", soon);
    form.addEventListener("change", soon);
    refresh();

    // Phone (390 px) or laptop (1366 px) width, scaled down to fit the panel.
    var viewport = panel.querySelector(".lf-preview-viewport");
    var sizes = panel.querySelectorAll(".lf-preview-sizes button");
    var resize = function (width) {
      var room = viewport.clientWidth, scale = width && width > room ? room / width : 1;
      frame.style.width = width ? width + "px" : "";
      frame.style.transform = scale < 1 ? "scale(" + scale + ")" : "";
      frame.style.height = scale < 1 ? (viewport.clientHeight / scale) + "px" : "";
      frame.setAttribute("data-width", width ? String(width) : "");
    };
    sizes.forEach(function (button) {
      button.addEventListener("click", function () {
        sizes.forEach(function (other) { other.setAttribute("aria-pressed", String(other === button)); });
        resize(Number(button.getAttribute("data-width")) || 0);
      });
    });
  }

  var kind = form.querySelector("select[data-presets]");
  if (kind) {
    var presets = JSON.parse(kind.getAttribute("data-presets"));
    var previous = presets[kind.value] || {};
    kind.addEventListener("change", function () {
      var preset = presets[kind.value];
      if (!preset) { return; }
      Object.keys(preset).forEach(function (name) {
        if (name === "fields") { return; }
        var input = form.elements[name];
        // Only what the marketer has not changed: empty, or still the last preset's text.
        if (input && (input.value === "" || input.value === previous[name])) { input.value = preset[name]; }
      });
      form.querySelectorAll("select[name^='ask_']").forEach(function (select) {
        select.value = preset.fields[select.name.slice(4)] || "hidden";
      });
      previous = preset;
      form.dispatchEvent(new Event("change"));
    });
  }
});
