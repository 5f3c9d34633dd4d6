// Fills the hidden time-zone field and moves keyboard focus to the first invalid field.
(function () {
  "use strict";
  document.querySelectorAll('input[name="time_zone"]').forEach(function (input) {
    try { input.value = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* old browser: fallback zone */ }
  });
  var firstInvalid = document.querySelector(".lf-capture-form .is-invalid");
  if (firstInvalid) { firstInvalid.focus(); }
})();
