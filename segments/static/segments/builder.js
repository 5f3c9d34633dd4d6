// The segment condition builder: draws the conditions JSON (the form's textarea) as nested
// groups of rows, and writes it back on every change. The server validates and counts
// (htmx POSTs the form, debounced, on "segment-changed"); this file never decides what a
// tree means. Everything shown is set with textContent / option values, never as markup.
(function () {
  "use strict";

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => {
      if (value !== undefined && value !== null) node.setAttribute(key, value);
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  let uid = 0;
  function labelled(control, text) {
    const id = "seg-" + (++uid);
    control.id = id;
    const wrap = el("span", { class: "segment-input" });
    const label = el("label", { for: id }, text);
    wrap.append(label, control);
    return wrap;
  }

  function select(choices, value) {
    const node = el("select");
    choices.forEach(([optionValue, text]) => {
      const option = el("option", { value: optionValue }, text);
      if (String(optionValue) === String(value ?? "")) option.selected = true;
      node.append(option);
    });
    return node;
  }

  function start() {
    const root = document.getElementById("segment-builder");
    const source = document.getElementById(root.dataset.for);
    const catalog = JSON.parse(document.getElementById("segment-catalog").textContent);
    const byField = Object.fromEntries(catalog.map((spec) => [spec.field, spec]));
    if (window.htmx) {
      // A tree the server refuses answers 422 with its messages: show them.
      htmx.config.responseHandling = [
        { code: "204", swap: false },
        { code: "[23]..", swap: true },
        { code: "422", swap: true, error: false },
        { code: "[45]..", swap: false, error: true },
      ];
    }
    let tree;
    try {
      tree = JSON.parse(source.value || "{}");
    } catch (error) {
      return; // not JSON: the textarea stays the way to edit it, the server says why
    }
    if (!tree || !tree.match) tree = { match: "all", conditions: [] };
    // The JSON stays in the form (it is what is saved) but out of sight while the builder
    // edits it; without JavaScript it is the way to edit.
    source.closest(".form-row").classList.add("segment-json");
    document.body.classList.add("segment-builder-js");

    function changed() {
      source.value = JSON.stringify(tree);
      document.body.dispatchEvent(new CustomEvent("segment-changed"));
    }
    function redraw() {
      root.replaceChildren(drawGroup(tree, null, "1"));
      changed();
    }

    function drawGroup(group, parent, path) {
      const box = el("fieldset", { class: "segment-group", "data-path": path });
      const legend = el("legend");
      const match = select([["all", "all"], ["any", "any"], ["none", "none"]], group.match);
      match.addEventListener("change", () => { group.match = match.value; changed(); });
      legend.append(labelled(match, parent ? "Group: leads matching" : "Leads matching"),
                    el("span", {}, "of these conditions:"));
      box.append(legend);
      const list = el("ol", { class: "segment-children" });
      group.conditions.forEach((child, index) => {
        const item = el("li");
        const place = path + "." + (index + 1);
        item.append(child.match ? drawGroup(child, group, place) : drawRow(child, group, place));
        list.append(item);
      });
      box.append(list);
      const actions = el("div", { class: "segment-actions" });
      const addRow = el("button", { type: "button", class: "button segment-add-condition" },
                        "+ Condition");
      addRow.addEventListener("click", () => {
        group.conditions.push({ field: "temperature", op: "is", value: "hot" });
        redraw();
      });
      const addGroup = el("button", { type: "button", class: "button segment-add-group" },
                          "+ Group");
      addGroup.addEventListener("click", () => {
        group.conditions.push({ match: "any", conditions: [
          { field: "temperature", op: "is", value: "hot" }] });
        redraw();
      });
      actions.append(addRow, addGroup);
      if (parent) {
        const remove = el("button", { type: "button", class: "button segment-remove" },
                          "Remove group");
        remove.addEventListener("click", () => {
          parent.conditions.splice(parent.conditions.indexOf(group), 1);
          redraw();
        });
        actions.append(remove);
      }
      box.append(actions);
      return box;
    }

    function drawRow(condition, parent, path) {
      const row = el("div", { class: "segment-row", "data-path": path });
      const fields = el("select", { class: "segment-field" });
      const groups = {};
      catalog.forEach((spec) => {
        if (!groups[spec.group]) {
          groups[spec.group] = el("optgroup", { label: spec.group });
          fields.append(groups[spec.group]);
        }
        const option = el("option", { value: spec.field }, spec.label);
        if (spec.field === condition.field) option.selected = true;
        groups[spec.group].append(option);
      });
      fields.addEventListener("change", () => {
        const spec = byField[fields.value];
        const fresh = { field: spec.field };
        if (spec.ops.length) fresh.op = spec.ops[0][0];
        spec.inputs.forEach((input) => {
          if (input.type === "select" && !input.optional && input.choices.length) {
            fresh[input.name] = input.number ? Number(input.choices[0][0]) : input.choices[0][0];
          } else if (input.type === "bool") fresh[input.name] = true;
          else if (input.default !== undefined) fresh[input.name] = input.default;
        });
        parent.conditions[parent.conditions.indexOf(condition)] = fresh;
        redraw();
      });
      row.append(labelled(fields, "Field"));
      const spec = byField[condition.field];
      if (!spec) {
        row.append(el("span", { class: "segment-unknown" }, "Unknown field " + condition.field));
      } else {
        drawInputs(row, spec, condition);
      }
      const remove = el("button", { type: "button", class: "button segment-remove" }, "Remove");
      remove.setAttribute("aria-label", "Remove condition " + path);
      remove.addEventListener("click", () => {
        parent.conditions.splice(parent.conditions.indexOf(condition), 1);
        redraw();
      });
      row.append(remove);
      return row;
    }

    function drawInputs(row, spec, condition) {
      const firsts = spec.inputs.filter((input) => input.first);
      firsts.forEach((input) => row.append(drawInput(spec, input, condition)));
      if (spec.ops.length) {
        const op = select(spec.ops, condition.op);
        op.classList.add("segment-op");
        op.addEventListener("change", () => {
          condition.op = op.value;
          if (op.value === "in" && !Array.isArray(condition.value)) {
            condition.value = condition.value ? [String(condition.value)] : [];
          } else if (op.value !== "in" && Array.isArray(condition.value)) {
            condition.value = condition.value[0] || "";
          }
          redraw();
        });
        row.append(labelled(op, "Comparison"));
      }
      spec.inputs.forEach((input) => {
        if (input.first) return;
        if (input.when && !input.when.includes(condition.op)) return;
        if (input.name === "value" && ["is_set", "is_empty"].includes(condition.op)) return;
        if (input.whenInput && !Object.entries(input.whenInput).every(
          ([name, values]) => values.includes(condition[name]))) return;
        row.append(drawInput(spec, input, condition));
      });
    }

    function drawInput(spec, input, condition) {
      let control;
      const current = condition[input.name];
      const set = (value) => {
        if (value === "" || value === undefined) delete condition[input.name];
        else condition[input.name] = value;
        changed();
      };
      if (input.type === "bool") {
        control = select([["true", "yes"], ["false", "no"]], current === false ? "false" : "true");
        control.addEventListener("change", () => set(control.value === "true"));
      } else if (input.type === "select") {
        let choices = input.choices;
        if (condition.op === "in" && input.name === "value") {
          control = el("select", { multiple: "multiple", size: Math.min(choices.length, 4) });
          const chosen = (Array.isArray(current) ? current : [current]).map(String);
          choices.forEach(([value, text]) => {
            const option = el("option", { value: value }, text);
            option.selected = chosen.includes(String(value));
            control.append(option);
          });
          control.addEventListener("change", () => set(
            Array.from(control.selectedOptions).map((option) => option.value)));
        } else {
          if (!choices.length) choices = [["", "— none yet —"]];
          control = select(choices, current);
          control.addEventListener("change", () => set(
            input.number && control.value !== "" ? Number(control.value) : control.value));
        }
      } else {
        const type = input.type === "number" ? "number" : input.type === "date" ? "date" : "text";
        control = el("input", { type: type });
        if (type === "number") control.setAttribute("step", "1");
        control.value = Array.isArray(current) ? current.join(", ") : (current ?? "");
        control.addEventListener("input", () => {
          const text = control.value;
          if (condition.op === "in" && input.name === "value") {
            set(text.split(",").map((part) => part.trim()).filter(Boolean));
          } else if (type === "number") {
            set(text === "" ? "" : Number(text));
          } else {
            set(text);
          }
        });
      }
      control.classList.add("segment-" + input.name.replace("_", "-"));
      return labelled(control, input.label);
    }

    redraw();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
