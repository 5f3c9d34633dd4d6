"use strict";
// The scoring rule form: show the fields of the chosen kind, and preview a change's effect
// (the unsaved form is posted to the simulate endpoint; nothing is saved).
(function () {
  const LABELS = { hot: "hot", warm: "warm", cold: "cold" };

  function showKind(kind) {
    document.querySelectorAll("fieldset.rule-fit").forEach((el) => { el.hidden = kind !== "fit"; });
    document.querySelectorAll("fieldset.rule-engagement").forEach((el) => {
      el.hidden = kind !== "engagement";
    });
  }

  function line(text, tag) {
    const el = document.createElement(tag || "p");
    el.textContent = text;
    return el;
  }

  function render(out, data) {
    out.replaceChildren();
    if (data.errors) {
      out.append(line("Fix the form first: " + Object.entries(data.errors)
        .map(([name, errors]) => (name === "__all__" ? "" : name + ": ") + errors.map((e) => e.message).join(" "))
        .join("; ")));
      return;
    }
    if (!data.moved) {
      out.append(line(`No lead would change temperature (${data.leads} leads scored).`));
    } else {
      out.append(line(`If saved, ${data.moved} of ${data.leads} leads would change temperature:`));
      const list = document.createElement("ul");
      data.moves.forEach((move) => {
        list.append(line(`${move.leads} ${move.leads === 1 ? "lead" : "leads"} ${LABELS[move.from]} → ${LABELS[move.to]}`, "li"));
      });
      out.append(list);
    }
    const totals = (counts) => `hot ${counts.hot}, warm ${counts.warm}, cold ${counts.cold}`;
    out.append(line(`Now: ${totals(data.before)}. After: ${totals(data.after)}.`));
  }

  document.addEventListener("DOMContentLoaded", () => {
    const kind = document.getElementById("id_kind");
    if (kind) {
      showKind(kind.value);
      kind.addEventListener("change", () => showKind(kind.value));
    }
    const button = document.getElementById("rule-preview-button");
    if (!button) return;
    button.addEventListener("click", async () => {
      const out = document.getElementById("rule-preview-result");
      out.replaceChildren(line("Scoring every lead…"));
      button.disabled = true;
      try {
        const response = await fetch(button.dataset.url, {
          method: "POST",
          body: new FormData(button.closest("form")),
          credentials: "same-origin",
        });
        render(out, await response.json());
      } catch (error) {
        out.replaceChildren(line("The preview failed: " + error));
      } finally {
        button.disabled = false;
      }
    });
  });
})();
