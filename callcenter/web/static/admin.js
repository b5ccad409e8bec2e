"use strict";

/* The admin page: the routing-rules editor (validate, drafts, versions, diff,
   what-if, publish, roll back) and the directory (agents, skills, queues,
   codes, users), plus the audit trail. Every value from the server goes into
   the page as text (cc.el), never as HTML. */
(() => {
  const $ = (id) => document.getElementById(id);
  let draftVersion = null;
  let liveVersion = null;

  /* -- tabs ------------------------------------------------------------------ */
  const loaders = {};
  function showTab(name) {
    for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.tab === name);
    for (const panel of document.querySelectorAll(".panel")) panel.hidden = panel.id !== `panel-${name}`;
    if (loaders[name]) loaders[name]();
  }
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => showTab(tab.dataset.tab));

  function showErrors(list, data, fallback) {
    const detail = data && data.detail;
    if (list.id === "rules-errors") rulesForm.markErrors($("rules-form"), Array.isArray(detail) ? detail : []);
    const items = Array.isArray(detail)
      ? detail.map((e) => cc.el("li", {}, cc.el("code", {}, e.field || "(document)"), " ", e.reason))
      : [cc.el("li", {}, cc.errorText(data, fallback))];
    list.replaceChildren(...items);
  }

  function message(text, ok) {
    const node = $("rules-message");
    node.textContent = text;
    node.className = ok ? "ok" : "error";
  }

  /* -- rules ----------------------------------------------------------------- */
  function editorDocument() {
    try {
      return { document: JSON.parse($("rules-editor").value) };
    } catch (error) {
      $("rules-errors").replaceChildren(cc.el("li", {}, `Not valid JSON: ${error.message}`));
      message("The document is not valid JSON.", false);
      return null;
    }
  }

  function writeEditor(document) {
    $("rules-editor").value = JSON.stringify(document, null, 2);
  }

  function drawForm(document) {
    rulesForm.render($("rules-form"), document, writeEditor);
    $("rules-form-box").disabled = false;
    $("rules-form-stale").hidden = true;
  }

  function loadDocument(document, label) {
    writeEditor(document);
    drawForm(document);
    $("rules-source").textContent = label;
    clearErrors();
  }

  function clearErrors() {
    $("rules-errors").replaceChildren();
    rulesForm.markErrors($("rules-form"), []);
  }

  /* Typing in the document redraws the form; while it is not valid JSON the
     form is greyed out, so it cannot overwrite what is being typed. */
  $("rules-editor").addEventListener("input", () => {
    let document;
    try {
      document = JSON.parse($("rules-editor").value);
    } catch {
      $("rules-form-box").disabled = true;
      $("rules-form-stale").hidden = false;
      return;
    }
    drawForm(document);
  });

  async function loadLive() {
    const { ok, data } = await cc.api("/api/rules");
    if (!ok) return message(cc.errorText(data, "could not load the live rules"), false);
    loadDocument(data.document, data.version ? `(live: version ${data.version})` : "(live: default)");
  }

  async function validate() {
    const parsed = editorDocument();
    if (!parsed) return false;
    const { ok, data } = await cc.api("/api/rules/validate", { method: "POST", body: parsed });
    if (!ok) {
      showErrors($("rules-errors"), data, "invalid");
      message("The rules have mistakes: each is listed below and marked on its setting.", false);
      return false;
    }
    clearErrors();
    message("Valid.", true);
    return true;
  }

  async function saveDraft() {
    const parsed = editorDocument();
    if (!parsed) return;
    const body = { ...parsed, note: $("rules-note").value };
    const { ok, data } = await cc.api("/api/rules/drafts", { method: "POST", body });
    if (!ok) {
      showErrors($("rules-errors"), data, "refused");
      message("Not saved: the rules have mistakes.", false);
      return;
    }
    draftVersion = data.version;
    clearErrors();
    $("btn-publish").disabled = false;
    $("btn-publish").textContent = `Publish version ${draftVersion}`;
    message(`Saved as draft version ${draftVersion}.`, true);
    await loadVersions();
    if (liveVersion) await showDiff(liveVersion, draftVersion);
  }

  function percent(value) {
    return value === null || value === undefined ? "\u2013" : `${(value * 100).toFixed(1)}%`;
  }
  function seconds(value) {
    return value === null || value === undefined ? "\u2013" : `${value.toFixed(1)} s`;
  }

  /* metric, formatter, whether a higher figure is better */
  const METRICS = [
    ["calls", "Calls", String, null],
    ["answered", "Answered", String, true],
    ["abandoned", "Abandoned", String, false],
    ["service_level", "Service level", percent, true],
    ["avg_wait_s", "Average wait", seconds, false],
    ["abandon_rate", "Abandon rate", percent, false],
    ["occupancy", "Occupancy", percent, null],
    ["sent_elsewhere", "Sent elsewhere", String, false],
    ["unanswered", "Still waiting at the end", String, false],
    ["unrouted", "Queue not in the rules", String, false],
  ];

  function compareClass(live, draft, higherIsBetter) {
    if (higherIsBetter === null || live === null || draft === null || live === draft) return "";
    return (draft > live) === higherIsBetter ? "better" : "worse";
  }

  function whatIfTable(result) {
    const queues = Object.keys(result.draft.queues).sort();
    const head = cc.el(
      "tr",
      {},
      cc.el("th", {}, ""),
      cc.el("th", {}, "Live"),
      cc.el("th", {}, "Draft"),
      ...queues.flatMap((q) => [cc.el("th", {}, `${q} live`), cc.el("th", {}, `${q} draft`)]),
    );
    const rows = METRICS.map(([key, label, format, higher]) => {
      const live = result.live.overall[key];
      const draft = result.draft.overall[key];
      const cells = [
        cc.el("th", {}, label),
        cc.el("td", { class: "num", dataset: { metric: key, side: "live" } }, format(live ?? null)),
        cc.el("td", { class: `num ${compareClass(live, draft, higher)}`, dataset: { metric: key, side: "draft" } }, format(draft ?? null)),
      ];
      for (const q of queues) {
        const lq = (result.live.queues[q] || {})[key] ?? null;
        const dq = (result.draft.queues[q] || {})[key] ?? null;
        cells.push(cc.el("td", { class: "num" }, key === "occupancy" ? "" : format(lq)));
        cells.push(cc.el("td", { class: `num ${compareClass(lq, dq, higher)}` }, key === "occupancy" ? "" : format(dq)));
      }
      return cc.el("tr", {}, ...cells);
    });
    $("whatif-result").replaceChildren(cc.el("thead", {}, head), cc.el("tbody", {}, ...rows));
  }

  async function whatIf() {
    const parsed = editorDocument();
    if (!parsed) return;
    const hours = Number($("whatif-hours").value) || 24;
    message("Replaying\u2026", true);
    const { ok, data } = await cc.api("/api/rules/what-if", { method: "POST", body: { ...parsed, hours } });
    if (!ok) {
      showErrors($("rules-errors"), data, "what-if failed");
      message("What-if could not run.", false);
      return;
    }
    $("whatif-summary").replaceChildren(
      cc.el("span", { id: "whatif-calls" }, String(data.calls)),
      ` calls and ${data.agents} agents over the last ${data.hours} hours, live version ${data.live_version ?? "default"}.`,
    );
    whatIfTable(data);
    message("What-if done: live and draft side by side.", true);
  }

  async function publish(version) {
    const { ok, data } = await cc.api(`/api/rules/versions/${version}/publish`, { method: "POST" });
    if (!ok) return message(`Not published: ${cc.errorText(data, "refused")}`, false);
    message(`Version ${version} is live. Callers already waiting are routed by it now.`, true);
    if (version === draftVersion) {
      draftVersion = null;
      $("btn-publish").disabled = true;
      $("btn-publish").textContent = "Publish draft";
    }
    await loadVersions();
  }

  async function rollback(version) {
    const { ok, data } = await cc.api(`/api/rules/versions/${version}/rollback`, { method: "POST" });
    if (!ok) return message(`Not rolled back: ${cc.errorText(data, "refused")}`, false);
    message(`Version ${version} is live again, as version ${data.version}.`, true);
    await loadVersions();
  }

  async function view(version) {
    const { ok, data } = await cc.api(`/api/rules/versions/${version}`);
    if (ok) loadDocument(data.document, `(version ${version})`);
  }

  function show(value) {
    return value === null || value === undefined ? "" : JSON.stringify(value);
  }

  async function showDiff(from, to) {
    const { ok, data } = await cc.api(`/api/rules/diff?from=${from}&to=${to}`);
    if (!ok) return;
    $("diff-title").textContent = `(version ${from} \u2192 ${to})`;
    const rows = data.changes.map((c) =>
      cc.el(
        "tr",
        {},
        cc.el("td", { class: "json" }, c.path),
        cc.el("td", {}, c.kind),
        cc.el("td", { class: "json" }, show(c.before)),
        cc.el("td", { class: "json" }, show(c.after)),
      ),
    );
    $("diff-result").replaceChildren(...(rows.length ? rows : [cc.el("tr", {}, cc.el("td", {}, "No differences."))]));
  }

  function button(label, action, data = {}) {
    const node = cc.el("button", { type: "button", dataset: data }, label);
    node.addEventListener("click", action);
    return node;
  }

  async function loadVersions() {
    const { ok, data } = await cc.api("/api/rules/versions");
    if (!ok) return;
    liveVersion = data.live_version;
    const rows = data.versions.map((v) => {
      const actions = [button("View", () => view(v.version))];
      if (liveVersion && v.version !== liveVersion) actions.push(button("Diff vs live", () => showDiff(liveVersion, v.version)));
      if (!v.published_at) actions.push(button("Publish", () => publish(v.version), { publish: v.version }));
      else if (!v.live) actions.push(button("Roll back", () => rollback(v.version), { rollback: v.version }));
      return cc.el(
        "tr",
        { dataset: { version: v.version } },
        cc.el("td", {}, String(v.version), " ", v.live ? cc.el("span", { class: "live-badge" }, "live") : ""),
        cc.el("td", {}, new Date(v.created_at).toLocaleString()),
        cc.el("td", {}, v.created_by),
        cc.el("td", {}, v.note),
        cc.el("td", {}, v.published_at ? new Date(v.published_at).toLocaleString() : "draft"),
        cc.el("td", {}, ...actions),
      );
    });
    $("versions").replaceChildren(...rows);
  }

  $("btn-load-live").addEventListener("click", loadLive);
  $("btn-validate").addEventListener("click", validate);
  $("btn-save-draft").addEventListener("click", saveDraft);
  $("btn-whatif").addEventListener("click", whatIf);
  $("btn-publish").addEventListener("click", () => draftVersion && publish(draftVersion));
  loaders.rules = loadVersions;

  /* -- agents ---------------------------------------------------------------- */
  function parseSkills(text) {
    const skills = {};
    for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
      const [name, level] = part.split(":").map((p) => p.trim());
      skills[name] = Number(level || 1);
    }
    return skills;
  }

  function fillAgentForm(agent) {
    $("agent-id").value = agent ? agent.id : "";
    $("agent-login").value = agent ? agent.login : "";
    $("agent-login").disabled = Boolean(agent);
    $("agent-name").value = agent ? agent.name : "";
    $("agent-dial").value = agent ? agent.dial_string : "";
    $("agent-location").value = agent ? agent.location : "on_site";
    $("agent-pbx").value = agent ? agent.pbx : "pbx1";
    $("agent-skills").value = agent ? Object.entries(agent.skills).map(([s, p]) => `${s}:${p}`).join(", ") : "";
    $("agent-errors").replaceChildren();
  }

  async function loadAgents() {
    const { ok, data } = await cc.api("/api/agents");
    if (!ok) return;
    $("agents").replaceChildren(
      ...data.agents.map((agent) =>
        cc.el(
          "tr",
          { dataset: { login: agent.login } },
          cc.el("td", {}, agent.login),
          cc.el("td", {}, agent.name),
          cc.el("td", {}, agent.dial_string),
          cc.el("td", {}, agent.location),
          cc.el("td", {}, Object.entries(agent.skills).map(([s, p]) => `${s} ${p}`).join(", ")),
          cc.el("td", {}, button("Edit", () => fillAgentForm(agent)), button("Delete", () => remove(`/api/agents/${agent.id}`, $("agent-errors"), loadAgents))),
        ),
      ),
    );
  }

  $("agent-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = $("agent-id").value;
    const body = {
      name: $("agent-name").value,
      dial_string: $("agent-dial").value,
      location: $("agent-location").value,
      pbx: $("agent-pbx").value,
      skills: parseSkills($("agent-skills").value),
    };
    if (!id) body.login = $("agent-login").value;
    const { ok, data } = await cc.api(id ? `/api/agents/${id}` : "/api/agents", { method: id ? "PATCH" : "POST", body });
    if (!ok) return showErrors($("agent-errors"), data, "refused");
    fillAgentForm(null);
    await loadAgents();
  });
  $("btn-agent-new").addEventListener("click", () => fillAgentForm(null));
  loaders.agents = loadAgents;

  async function remove(path, errors, reload) {
    const { ok, data } = await cc.api(path, { method: "DELETE" });
    if (!ok) return showErrors(errors, data, "refused");
    errors.replaceChildren();
    await reload();
  }

  /* -- skills and queues ------------------------------------------------------ */
  async function loadQueues() {
    const skills = await cc.api("/api/skills");
    if (skills.ok) {
      $("skills").replaceChildren(
        ...skills.data.skills.map((s) =>
          cc.el("tr", {}, cc.el("td", {}, s.name), cc.el("td", {}, button("Delete", () => remove(`/api/skills/${s.id}`, $("skill-errors"), loadQueues)))),
        ),
      );
    }
    const queues = await cc.api("/api/queues");
    if (queues.ok) {
      $("queues").replaceChildren(
        ...queues.data.queues.map((q) =>
          cc.el(
            "tr",
            {},
            cc.el("td", {}, q.name),
            cc.el("td", {}, q.skill),
            cc.el("td", {}, `${q.ring_timeout_s} s`),
            cc.el("td", {}, q.did || ""),
            cc.el("td", {}, button("Delete", () => remove(`/api/queues/${q.id}`, $("queue-errors"), loadQueues))),
          ),
        ),
      );
    }
  }

  $("skill-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const { ok, data } = await cc.api("/api/skills", { method: "POST", body: { name: $("skill-name").value } });
    if (!ok) return showErrors($("skill-errors"), data, "refused");
    $("skill-name").value = "";
    $("skill-errors").replaceChildren();
    await loadQueues();
  });
  $("queue-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      name: $("queue-name").value,
      skill: $("queue-skill").value,
      ring_timeout_s: Number($("queue-ring").value),
      did: $("queue-did").value || null,
    };
    const { ok, data } = await cc.api("/api/queues", { method: "POST", body });
    if (!ok) return showErrors($("queue-errors"), data, "refused");
    $("queue-errors").replaceChildren();
    await loadQueues();
  });
  loaders.queues = loadQueues;

  /* -- codes ------------------------------------------------------------------ */
  async function loadCodes() {
    for (const [kind, flag, flagLabel] of [
      ["reason", "productive", "productive"],
      ["disposition", "requires_notes", "notes required"],
    ]) {
      const { ok, data } = await cc.api(`/api/${kind}-codes`);
      if (!ok) continue;
      $(`${kind}-codes`).replaceChildren(
        ...data[`${kind}_codes`].map((c) =>
          cc.el(
            "tr",
            {},
            cc.el("td", {}, c.code),
            cc.el("td", {}, c.label),
            cc.el("td", { class: "muted" }, c[flag] ? flagLabel : ""),
            cc.el("td", {}, button("Delete", () => remove(`/api/${kind}-codes/${encodeURIComponent(c.code)}`, $(`${kind}-errors`), loadCodes))),
          ),
        ),
      );
    }
  }

  for (const [kind, flag, box] of [
    ["reason", "productive", "reason-productive"],
    ["disposition", "requires_notes", "disposition-notes"],
  ]) {
    $(`${kind}-form`).addEventListener("submit", async (event) => {
      event.preventDefault();
      const code = $(`${kind}-code`).value.trim();
      const body = { label: $(`${kind}-label`).value, [flag]: $(box).checked };
      const { ok, data } = await cc.api(`/api/${kind}-codes/${encodeURIComponent(code)}`, { method: "PUT", body });
      if (!ok) return showErrors($(`${kind}-errors`), data, "refused");
      $(`${kind}-errors`).replaceChildren();
      await loadCodes();
    });
  }
  loaders.codes = loadCodes;

  /* -- users ------------------------------------------------------------------ */
  async function loadUsers() {
    const { ok, data } = await cc.api("/api/users");
    if (!ok) return;
    $("users").replaceChildren(
      ...data.users.map((u) =>
        cc.el(
          "tr",
          { dataset: { username: u.username } },
          cc.el("td", {}, u.username),
          cc.el("td", {}, u.roles.join(", ")),
          cc.el("td", {}, u.agent_id === null ? "" : String(u.agent_id)),
          cc.el("td", {}, u.queues.length ? u.queues.join(", ") : "all"),
          cc.el("td", {}, button("Delete", () => remove(`/api/users/${u.id}`, $("user-errors"), loadUsers))),
        ),
      ),
    );
  }

  $("user-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      username: $("user-name").value,
      password: $("user-password").value,
      roles: [...document.querySelectorAll(".user-role:checked")].map((box) => box.value),
      queues: $("user-queues").value.split(",").map((q) => q.trim()).filter(Boolean),
    };
    if ($("user-agent").value) body.agent_id = Number($("user-agent").value);
    const { ok, data } = await cc.api("/api/users", { method: "POST", body });
    $("user-password").value = "";
    if (!ok) return showErrors($("user-errors"), data, "refused");
    $("user-errors").replaceChildren();
    await loadUsers();
  });
  loaders.users = loadUsers;

  /* -- audit ------------------------------------------------------------------ */
  async function loadAudit() {
    const action = $("audit-action").value.trim();
    const query = action ? `?limit=200&action=${encodeURIComponent(action)}` : "?limit=200";
    const { ok, data } = await cc.api(`/api/audit${query}`);
    if (!ok) return;
    $("audit").replaceChildren(
      ...data.events.map((e) =>
        cc.el(
          "tr",
          {},
          cc.el("td", {}, new Date(e.at).toLocaleString()),
          cc.el("td", {}, e.username),
          cc.el("td", {}, e.action),
          cc.el("td", {}, e.target),
          cc.el("td", { class: "json" }, JSON.stringify(e.detail)),
          cc.el("td", { class: "muted" }, e.address || ""),
        ),
      ),
    );
  }
  $("btn-audit").addEventListener("click", loadAudit);
  loaders.audit = loadAudit;

  $("btn-logout").addEventListener("click", () => cc.logout());
  loadLive();
  loadVersions();
})();
