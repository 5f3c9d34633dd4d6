// "Did you mean ana@gmail.com?" under the email field, with a button that fills it in.
// The rules are capture/emailtypos.py's, fed by the form in data-typo-rules: one slip of a
// finger in a common provider's name (left out, swapped, a QWERTY neighbour instead or as
// well, a key twice) or a mistyped top-level domain. The server asks again when JS is off.
(function () {
  "use strict";
  var ROWS = ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"];

  function neighbours(key) {
    for (var row = 0; row < ROWS.length; row++) {
      var column = ROWS[row].indexOf(key);
      if (column < 0) { continue; }
      var near = [[row, column - 1], [row, column + 1], [row - 1, column], [row - 1, column + 1],
                  [row + 1, column - 1], [row + 1, column]];
      return near.filter(function (p) {
        return p[0] >= 0 && p[0] < ROWS.length && p[1] >= 0 && p[1] < ROWS[p[0]].length;
      }).map(function (p) { return ROWS[p[0]][p[1]]; }).join("");
    }
    return "";
  }

  function isSlipOf(typed, name) {
    // True when one slip turns `name` into `typed` (the variants of emailtypos.name_typos).
    if (typed === name) { return false; }
    for (var i = 0; i < name.length; i++) {
      var key = name[i], head = name.slice(0, i), tail = name.slice(i + 1);
      if (typed === head + tail || typed === head + key + key + tail) { return true; }
      if (i + 1 < name.length && typed === head + name[i + 1] + key + name.slice(i + 2)) { return true; }
      var near = neighbours(key);
      for (var j = 0; j < near.length; j++) {
        if (typed === head + near[j] + tail || typed === head + near[j] + key + tail ||
            typed === head + key + near[j] + tail) { return true; }
      }
    }
    return false;
  }

  function suggestDomain(domain, rules) {
    if (rules.domains.indexOf(domain) >= 0 || rules.real.indexOf(domain) >= 0) { return ""; }
    var dot = domain.indexOf("."), name = domain.slice(0, dot), tld = domain.slice(dot + 1);
    if (dot < 0) { return ""; }
    for (var i = 0; i < rules.domains.length; i++) {  // first match wins, as in Python
      var common = rules.domains[i], cut = common.indexOf(".");
      var commonName = common.slice(0, cut), commonTld = common.slice(cut + 1);
      if (name === commonName && rules.tlds[tld] === commonTld) { return common; }
      if (tld === commonTld && commonName.length >= rules.min && isSlipOf(name, commonName)) { return common; }
    }
    return "";
  }

  document.querySelectorAll("input[data-typo-rules]").forEach(function (input) {
    var rules = JSON.parse(input.getAttribute("data-typo-rules"));
    var hint = document.createElement("div");
    hint.className = "form-text lf-email-hint";
    hint.id = input.id + "-suggestion";
    hint.setAttribute("role", "status");  // read out when it appears
    input.insertAdjacentElement("afterend", hint);
    function check() {
      var email = input.value.trim(), at = email.lastIndexOf("@");
      var suggestion = at > 0 ? suggestDomain(email.slice(at + 1).toLowerCase(), rules) : "";
      hint.textContent = "";
      if (!suggestion) { return; }
      var fixed = email.slice(0, at) + "@" + suggestion;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-link btn-sm p-0 align-baseline";
      button.textContent = fixed;
      button.addEventListener("click", function () {
        input.value = fixed;
        hint.textContent = "";
        input.focus();
      });
      hint.append("Did you mean ", button, "?");
    }
    input.addEventListener("blur", check);
    input.addEventListener("change", check);
  });
})();
