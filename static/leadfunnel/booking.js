// Shows the times in the visitor's own zone when we do not know it yet.
(function () {
  "use strict";
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && !/[?&]tz=/.test(location.search)) {
      location.replace(location.pathname + "?tz=" + encodeURIComponent(zone));
    }
  } catch (e) { /* keep UTC */ }
})();
