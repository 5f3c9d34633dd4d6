// The weekly-hours picker: add and remove time ranges per weekday. The server checks the
// ranges (order, overlaps); this only edits rows, so the page works without it too.
(function () {
  "use strict";
  var template = document.getElementById("lf-range-template");
  if (!template) return;

  function pad(number) { return (number < 10 ? "0" : "") + number; }

  function later(text, minutes) {
    var parts = (text || "09:00").split(":");
    var total = Math.min(parseInt(parts[0], 10) * 60 + parseInt(parts[1], 10) + minutes, 23 * 60 + 55);
    return pad(Math.floor(total / 60)) + ":" + pad(total % 60);
  }

  function refresh(day) {
    var empty = day.querySelectorAll(".lf-range").length === 0;
    day.querySelector(".lf-dayoff").hidden = !empty;
  }

  function add(day) {
    var name = day.dataset.name, weekday = day.dataset.weekday;
    var ranges = day.querySelectorAll(".lf-range");
    var row = template.content.firstElementChild.cloneNode(true);
    var start = row.querySelector('[data-part="start"]'), end = row.querySelector('[data-part="end"]');
    var last = ranges.length ? ranges[ranges.length - 1].querySelector('input[name$="_end"]').value : "";
    start.value = last ? later(last, 60) : "09:00";
    end.value = last ? later(start.value, 60) : "17:00";
    start.name = "day" + weekday + "_start";
    end.name = "day" + weekday + "_end";
    start.setAttribute("aria-label", name + ", from");
    end.setAttribute("aria-label", name + ", until");
    row.querySelector(".lf-remove").setAttribute("aria-label", "Remove this " + name + " range");
    day.querySelector(".lf-ranges").appendChild(row);
    refresh(day);
    start.focus();
  }

  document.querySelectorAll(".lf-day").forEach(function (day) {
    var button = day.querySelector(".lf-add");
    button.hidden = false;
    button.addEventListener("click", function () { add(day); });
    day.addEventListener("click", function (event) {
      var remove = event.target.closest(".lf-remove");
      if (!remove) return;
      remove.closest(".lf-range").remove();
      refresh(day);
      button.focus();
    });
  });
})();
