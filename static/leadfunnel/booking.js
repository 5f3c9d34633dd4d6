// The booking page: shows times in the visitor's own zone when we do not know it yet. A zone
// picked in the select applies with its button, not on change: arrowing through the options
// must not reload the page at every step (WCAG 3.2.2).
(function () {
  "use strict";
  var root = document.querySelector(".lf-booking");
  if (root && root.dataset.zoneKnown === "0") {
    try {
      var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      var params = new URLSearchParams(location.search);
      if (zone && !params.has("tz")) {
        params.set("tz", zone);
        location.replace(location.pathname + "?" + params.toString());
        return;
      }
    } catch (e) { /* keep UTC */ }
  }
})();
