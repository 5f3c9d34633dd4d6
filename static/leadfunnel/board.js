/* The pipeline board: drag a card (SortableJS) or use its "Move to" form; either way the
   card's own form is posted to the server, which applies the stage rules. A refused move
   puts the card back where it was and says why. No build step. */
(function () {
  "use strict";

  var board = document.getElementById("board");
  if (!board || !board.dataset.movable) return;
  var statusBox = document.getElementById("board-status");
  var errorBox = document.getElementById("board-error");

  function column(stage) {
    return board.querySelector('.lf-board-cards[data-stage="' + stage + '"]');
  }

  function addToCount(list, delta) {
    var badge = list.closest(".lf-board-column").querySelector("[data-count]");
    var count = parseInt(badge.dataset.count, 10) + delta;
    badge.dataset.count = String(count);
    badge.querySelector(".lf-count").textContent = String(count);
  }

  function say(message, failed) {
    // The live region is re-filled each time so the same text is announced twice.
    statusBox.textContent = "";
    statusBox.textContent = message;
    errorBox.textContent = failed ? message : "";
    errorBox.classList.toggle("d-none", !failed);
  }

  // Posts the card's form with `stage`; resolves with the server's answer, never rejects.
  function post(card, stage) {
    var form = card.querySelector("form.lf-move");
    var body = new FormData(form);
    body.set("stage", stage);
    return fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    }).then(function (response) {
      return response.json().then(function (answer) {
        return { ok: response.ok, answer: answer };
      }, function () {
        return { ok: false, answer: { error: "That did not work (" + response.status + "); reload and try again." } };
      });
    }, function () {
      return { ok: false, answer: { error: "The server could not be reached; the card stays where it was." } };
    });
  }

  function moved(card, from, to) {
    addToCount(from, -1);
    addToCount(to, 1);
    var details = card.querySelector("details");
    if (details) details.open = false;
    var reason = card.querySelector('input[name="reason"]');
    if (reason) reason.value = "";
  }

  function refused(card, message) {
    say(message, true);
    var reason = card.querySelector('input[name="reason"]');
    // The one refusal the rep fixes on the card itself: lost needs a reason.
    if (reason && /why/i.test(message)) {
      card.querySelector("details").open = true;
      reason.focus();
    }
  }

  // Keyboard and no-drag path: the "Move to" form.
  board.addEventListener("submit", function (event) {
    var form = event.target.closest("form.lf-move");
    if (!form) return;
    event.preventDefault();
    var card = form.closest(".lf-card");
    var from = card.parentElement;
    var stage = form.elements.stage.value;
    post(card, stage).then(function (result) {
      if (!result.ok) return refused(card, result.answer.error);
      var to = column(stage);
      to.prepend(card);
      moved(card, from, to);
      say(result.answer.message, false);
      card.querySelector("a").focus();
    });
  });

  // Drag and drop between columns: the card is already in its new column when the drop
  // ends; it goes back to its old place unless the server accepted the move.
  board.querySelectorAll(".lf-board-cards").forEach(function (list) {
    new window.Sortable(list, {
      group: "pipeline",
      sort: false,
      animation: 150,
      filter: "details, summary, form, input, select, button",
      preventOnFilter: false,
      onAdd: function (event) {
        var card = event.item;
        var from = event.from;
        var to = event.to;
        post(card, to.dataset.stage).then(function (result) {
          if (result.ok) {
            moved(card, from, to);
            say(result.answer.message, false);
            return;
          }
          from.insertBefore(card, from.children[event.oldIndex] || null);
          refused(card, result.answer.error);
        });
      }
    });
  });
  // Cards can be dragged from now on (what a test, or a script, can wait for).
  board.dataset.ready = "true";
})();
