/* leadfunnel tracking: <script src=".../track.js" data-endpoint=".../api/v1/track/"
 [data-require-consent] defer>; leadfunnel.identify(token), .consent(bool). Nothing under
 DNT/GPC. A visitor not yet known has a random id (lf_vid). */
(function (w, d, n) {
  "use strict";
  var s = d.currentScript || {getAttribute: function () { return null; }};
  var ep = s.getAttribute("data-endpoint") || (s.src ? new URL("/api/v1/track/", s.src).href : "");
  var ask = s.getAttribute("data-require-consent") !== null;
  var AGE = 63072000, q = [], held = "", timer = 0;
  var off = n.doNotTrack === "1" || w.doNotTrack === "1" || n.globalPrivacyControl === true;

  function get(k) {
    var m = d.cookie.match(new RegExp("(?:^|; )" + k + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : "";
  }
  function put(k, v, age) {
    d.cookie = k + "=" + encodeURIComponent(v) + "; Max-Age=" + age + "; Path=/; SameSite=Lax" +
      (location.protocol === "https:" ? "; Secure" : "");
  }
  function allowed() { return !off && (!ask || get("lf_consent") === "1"); }

  function vid() { // 128 random bits
    var v = get("lf_vid"), b = new Uint8Array(16), i;
    if (/^[0-9a-f]{32}$/.test(v)) return v;
    w.crypto.getRandomValues(b);
    for (v = "", i = 0; i < 16; i++) v += (b[i] | 256).toString(16).slice(1);
    put("lf_vid", v, AGE);
    return v;
  }

  function flush() {
    clearTimeout(timer);
    timer = 0;
    if (!ep || !q.length || !allowed()) return;
    var token = get("lf_id"), who = {visitor: vid()};
    if (token) who.token = token;
    while (q.length) {
      who.events = q.splice(0, 50);
      var body = JSON.stringify(who), sent = false;
      try { sent = n.sendBeacon(ep, body); } catch (e) { /* fetch */ }
      if (!sent && w.fetch) {
        fetch(ep, {method: "POST", body: body, keepalive: true, mode: "no-cors", credentials: "omit",
          headers: {"Content-Type": "text/plain"}})["catch"](function () {});
      }
    }
  }
  function later() { if (!timer) timer = setTimeout(flush, 2000); }

  function page() {
    if (off) return;
    q.push({url: location.href.slice(0, 2000), title: d.title.slice(0, 300),
      referrer: d.referrer.slice(0, 2000), at: new Date().toISOString()});
    if (q.length > 200) q.shift();
    later();
  }

  w.leadfunnel = {
    identify: function (token) {
      if (off || !token) return;
      if (allowed()) { put("lf_id", token, AGE); later(); } else { held = token; }
    },
    consent: function (yes) {
      put("lf_consent", yes ? "1" : "0", AGE);
      if (!yes) { q = []; held = ""; put("lf_id", "", 0); put("lf_vid", "", 0); return; }
      if (held) { put("lf_id", held, AGE); held = ""; }
      later();
    },
    page: page
  };

  // Browsers cap cookies at ~400 days: each visit renews them.
  if (allowed()) ["lf_id", "lf_vid"].forEach(function (k) { if (get(k)) put(k, get(k), AGE); });
  d.addEventListener("visibilitychange", function () { if (d.visibilityState === "hidden") flush(); });
  w.addEventListener("pagehide", flush);
  page();
})(window, document, navigator);
