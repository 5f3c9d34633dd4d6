/* The dashboard's "My tasks today" and filters are <details>: closed on a phone, so the
   leads fill the first screen (the summary still counts the overdue tasks), opened here on
   anything wider, where there is room for both. No build step. */
(function () {
  "use strict";

  if (!window.matchMedia("(min-width: 768px)").matches) return;
  document.querySelectorAll("details.lf-collapsible").forEach(function (details) {
    details.open = true;
  });
})();
