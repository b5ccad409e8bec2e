"use strict";

/* The queue settings an admin changes most (skills, strategy, priority, ring
   time, wrap-up, service-level threshold and target, max wait and where the call goes
   then), as a form over the rules document. The JSON beside it stays the one
   document: every input writes into it, every edit of it redraws the form, so
   nothing can drift between the two. The server's validation errors
   (`queues.2.ring_timeout_s`) are marked on the input they name. */
const rulesForm = (() => {
  const STRATEGIES = ["longest_idle", "least_occupied", "highest_proficiency", "round_robin", "lowest_cost"];

  /* field, label, how the document's value is shown, how an input is read back */
  const number = (text) => (text.trim() === "" ? null : Number(text));
  const FIELDS = [
    ["skills", "Skills (name:min level)", skillsText, parseSkills],
    ["strategy", "Strategy", String, String],
    ["priority", "Priority", String, (text) => (text.trim() === "" ? 0 : Number(text))],
    ["ring_timeout_s", "Ring (s)", String, number],
    ["wrap_up_s", "Wrap-up (s)", String, (text) => (text.trim() === "" ? 0 : Number(text))],
    ["service_level_s", "SL threshold (s)", String, number],
    ["service_level_target", "SL target (0-1)", (v) => (v === undefined ? "0.8" : String(v)), (text) => (text.trim() === "" ? 0.8 : Number(text))],
    ["max_wait_s", "Max wait (s)", (v) => (v === null || v === undefined ? "" : String(v)), number],
    ["overflow", "Then", targetText, (text) => (text.trim() === "" ? null : text.trim())],
    ["survey", "Survey", (v) => v === true, Boolean],
  ];

  function skillsText(skills) {
    return Object.entries(skills || {}).map(([name, level]) => `${name}:${level}`).join(", ");
  }

  /* "sales:3, support" -> {sales: 3, support: 1}; a level that is not a
     number is passed on as written, for the server to name the field. */
  function parseSkills(text) {
    const skills = {};
    for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
      const [name, level] = part.split(":").map((p) => p.trim());
      skills[name] = level === undefined || level === "" ? 1 : Number.isNaN(Number(level)) ? level : Number(level);
    }
    return skills;
  }

  function targetText(target) {
    if (target === null || target === undefined) return "";
    if (typeof target === "string") return target;
    return target.kind === "queue" ? `queue:${target.queue}` : target.kind;
  }

  function input(index, field, value) {
    const path = `queues.${index}.${field}`;
    if (field === "strategy") {
      const select = cc.el("select", { "aria-label": path, dataset: { path } });
      for (const name of STRATEGIES) select.append(cc.el("option", { value: name }, name.replaceAll("_", " ")));
      select.value = value;
      return select;
    }
    if (field === "survey") {
      const box = cc.el("input", { type: "checkbox", "aria-label": path, dataset: { path } });
      box.checked = value;
      return box;
    }
    const attrs = { "aria-label": path, dataset: { path }, value };
    if (field === "overflow") {
      attrs.placeholder = "voicemail, callback, hangup or queue:name";
      attrs.list = "rules-form-targets";
    } else if (field !== "skills") {
      attrs.inputmode = "decimal";
    }
    return cc.el("input", attrs);
  }

  /* Draw one row per queue of `document` into `table`; `changed(document)` is
     called with the edited document after every input. */
  function render(table, document, changed) {
    const queues = Array.isArray(document && document.queues) ? document.queues : [];
    const head = cc.el("tr", {}, cc.el("th", {}, "Queue"), ...FIELDS.map(([, label]) => cc.el("th", {}, label)));
    const rows = queues.map((queue, index) =>
      cc.el(
        "tr",
        { dataset: { queue: queue.name } },
        cc.el("th", {}, queue.name),
        ...FIELDS.map(([field, , show]) => cc.el("td", {}, input(index, field, show(queue[field])))),
      ),
    );
    const targets = cc.el(
      "datalist",
      { id: "rules-form-targets" },
      ...["voicemail", "callback", "hangup", ...queues.map((q) => `queue:${q.name}`)].map((t) => cc.el("option", { value: t })),
    );
    table.replaceChildren(cc.el("thead", {}, head), cc.el("tbody", {}, ...rows), targets);
    table.oninput = (event) => {
      const path = event.target.dataset && event.target.dataset.path;
      if (!path) return;
      const [, index, field] = path.split(".");
      const [, , , read] = FIELDS.find(([name]) => name === field);
      const queue = document.queues[Number(index)];
      queue[field] = read(event.target.type === "checkbox" ? event.target.checked : event.target.value);
      // Max wait and where the call goes then are given together or not at all.
      if (field === "max_wait_s" && queue.max_wait_s === null) queue.overflow = null;
      event.target.classList.remove("invalid");
      event.target.removeAttribute("title");
      changed(document);
    };
  }

  /* Mark the inputs the errors name; returns how many were marked. */
  function markErrors(table, errors) {
    for (const node of table.querySelectorAll(".invalid")) {
      node.classList.remove("invalid");
      node.removeAttribute("title");
    }
    let marked = 0;
    for (const error of errors || []) {
      const field = String(error.field || "");
      const parts = field.split(".");
      // queues.0.skills.sales names the skills input; queues.0 alone, the row.
      const path = parts.slice(0, 3).join(".");
      const node = table.querySelector(`[data-path="${CSS.escape(path)}"]`);
      if (!node) continue;
      node.classList.add("invalid");
      node.setAttribute("title", error.reason);
      marked += 1;
    }
    return marked;
  }

  return { render, markErrors };
})();
