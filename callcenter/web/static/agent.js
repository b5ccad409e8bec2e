"use strict";

/* The agent desktop: own state with Ready / Not ready, call status, and the
   customer screen-pop pushed over /ws/agent. */
(() => {
  const $ = (id) => document.getElementById(id);
  const CALL_TEXT = {
    ringing: "Ringing\u2026",
    talking: "Talking",
    held: "Caller on hold",
    party_ringing: "Ringing the other party\u2026",
    party_talking: "Other party on the line",
    party_left: "Other party left",
    ended: "Call ended",
  };
  let agent = null;
  let clockOffsetS = 0; // server clock minus this browser's clock
  let popCallId = null;

  function nowS() {
    return Date.now() / 1000 + clockOffsetS;
  }

  function showAgent(view) {
    agent = view;
    $("agent-name").textContent = `${view.name} (${view.login})`;
    const badge = $("agent-state");
    badge.textContent = cc.stateLabel(view.state);
    badge.dataset.state = view.state;
    badge.className = `badge big state-${view.state}`;
    $("agent-reason").textContent =
      view.state === "not_ready" && view.reason ? `Reason: ${view.reason}` : "";
    $("btn-ready").disabled = view.state === "ready";
    $("btn-not-ready").disabled = view.state === "not_ready";
    if (view.state === "ringing" || view.state === "reserved") showCall("ringing");
    else if (view.state === "on_call") showCall("talking");
    else $("agent-pending").textContent = "";
    $("call-controls").hidden = view.state !== "on_call";
    if (view.state !== "on_call") showControl(null);
    $("wrap-up").hidden = view.state !== "wrap_up";
    tick();
  }

  /* What the server says the call looks like now: on hold or not, and whoever
     the agent is adding to it. */
  function showControl(control) {
    const onHold = Boolean(control && control.on_hold);
    $("btn-hold").hidden = onHold;
    $("btn-resume").hidden = !onHold;
    const party = control ? control.party : null;
    $("party-controls").hidden = !party;
    $("party-status").textContent = party
      ? `${party.target}: ${party.status === "talking" ? "on the line" : "ringing\u2026"}`
      : "";
    const recording = control ? control.recording : null;
    $("recording-controls").hidden = !recording || !recording.recorded;
    if (recording && recording.recorded) {
      $("rec-status").textContent = recording.paused ? "Recording paused" : "Recording";
      $("rec-status").dataset.paused = String(recording.paused);
      $("btn-rec-pause").hidden = recording.paused;
      $("btn-rec-resume").hidden = !recording.paused;
    }
    $("btn-complete").disabled = !party || party.status !== "talking";
    $("btn-join").disabled = !party || party.status !== "talking" || !onHold;
  }

  function target() {
    const kind = $("transfer-kind").value;
    const value = $("transfer-target").value.trim();
    if (kind === "agent") return { kind, agent_id: Number(value) };
    return kind === "queue" ? { kind, queue: value } : { kind, number: value };
  }

  async function callAction(action, body) {
    $("call-error").textContent = "";
    if (!agent || !agent.call_id) return;
    const result = await cc.api(`/api/calls/${encodeURIComponent(agent.call_id)}/${action}`, {
      method: "POST",
      body,
    });
    if (result.ok) {
      if (result.data && result.data.call_id) showControl(result.data);
    } else if (result.status !== 401) {
      $("call-error").textContent = cc.errorText(result.data, "The PBX did not take it.");
    }
  }

  async function wrapUpDone() {
    $("wrap-error").textContent = "";
    const coded = !$("wrap-disposition-code").hidden;
    const disposition = coded ? $("wrap-disposition-code").value : $("wrap-disposition").value;
    const body = { disposition, notes: $("wrap-notes").value };
    const result = await cc.api("/api/agent/wrap-up", { method: "POST", body });
    if (result.ok) {
      $("wrap-disposition").value = "";
      $("wrap-notes").value = "";
      showAgent(result.data);
      // The wrap-up is written just after this answer: read the history again then.
      loadHistory();
      setTimeout(loadHistory, 1500);
    } else if (result.status !== 401) {
      $("wrap-error").textContent = cc.errorText(result.data, "Not saved.");
    }
  }

  function tick() {
    if (agent) $("agent-since").textContent = cc.duration(nowS() - agent.since);
  }

  async function askState(state) {
    $("agent-error").textContent = "";
    const body = { state };
    if (state === "not_ready") body.reason = $("not-ready-reason").value;
    const result = await cc.api("/api/agent/state", { method: "POST", body });
    if (result.ok) {
      $("agent-pending").textContent = result.data.pending
        ? `${cc.stateLabel(result.data.pending)} will apply after this call.`
        : "";
      showAgent(result.data);
    } else if (result.status !== 401) {
      $("agent-error").textContent = cc.errorText(result.data, "The change was refused.");
    }
  }

  function showCall(status) {
    const line = $("call-status");
    line.textContent = CALL_TEXT[status] || "No call";
    line.dataset.status = status;
    line.className = `call-status ${status}`;
  }

  function money(value) {
    if (value === null || value === undefined || value === "") return "\u2014";
    const number = Number(value);
    if (Number.isNaN(number)) return String(value);
    return number.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function showCustomer(customer) {
    $("pop-customer-name").textContent = customer ? customer.name : "";
    $("pop-no-customer").hidden = Boolean(customer);
    const tier = $("pop-tier");
    tier.hidden = !(customer && customer.tier);
    tier.textContent = customer && customer.tier ? customer.tier : "";
    $("pop-account").textContent = (customer && customer.account_number) || "\u2014";
    $("pop-ltv").textContent = money(customer ? customer.lifetime_value : null);
    $("pop-notes").textContent = (customer && customer.notes) || "\u2014";
    const standing = customer
      ? [customer.status, customer.balance && Number(customer.balance) !== 0 ? `balance ${money(customer.balance)}` : "",
         customer.profitability ? `${customer.profitability} profitability` : ""].filter(Boolean).join(" \u00b7 ")
      : "";
    $("pop-standing").textContent = standing || "\u2014";
    $("pop-standing").className = customer && customer.status && customer.status !== "active" ? "warn" : "";
  }

  /* One list per department; an empty one says so, so "nothing open" is visible. */
  function fillList(id, items, render, empty) {
    const list = $(id);
    const rows = items.map((item) => cc.el("li", {}, render(item)));
    list.replaceChildren(...(rows.length ? rows : [cc.el("li", { class: "muted" }, empty)]));
  }

  function showDepartments(pop) {
    const known = Boolean(pop.customer);
    $("pop-departments").hidden = !known;
    const contact = pop.contact && (!pop.customer || pop.contact.name !== pop.customer.name) ? pop.contact : null;
    $("pop-contact").textContent = contact ? [contact.name, contact.role].filter(Boolean).join(", ") : "\u2014";
    if (!known) return;
    fillList("pop-cases", pop.open_cases || [], (c) => `${c.subject} (${c.status}${c.priority ? `, ${c.priority}` : ""})`, "No open cases");
    const billing = pop.billing || { open_invoices: [] };
    const lines = (billing.open_invoices || []).map((i) => ({ text: `${i.number}: ${money(i.amount)} due ${i.due_on} (${i.status})` }));
    if (billing.last_payment) lines.push({ text: `Last payment ${money(billing.last_payment.amount)} on ${new Date(billing.last_payment.paid_at).toLocaleDateString()}` });
    fillList("pop-billing", lines, (l) => l.text, "Nothing owed");
    fillList("pop-orders", pop.orders || [], (o) => `${o.number}: ${o.delivery || o.status}`, "No orders");
    fillList("pop-deals", pop.opportunities || [], (d) => `${d.title} (${d.kind}, ${money(d.value)}, by ${d.due_on})`, "Nothing open");
  }

  function showMatches(pop) {
    const matches = Array.isArray(pop.matches) ? pop.matches : [];
    const box = $("pop-matches");
    box.replaceChildren();
    $("pop-matches-box").hidden = matches.length < 2;
    if (matches.length < 2) return;
    matches.forEach((match, index) => {
      const label = [match.name, match.account_number, match.tier].filter(Boolean).join(" \u00b7 ");
      const chosen = pop.customer && match.id === pop.customer.id;
      const button = cc.el(
        "button",
        { type: "button", class: chosen ? "chosen" : "", "data-testid": `pop-match-${index}` },
        label || `Customer ${match.id ?? match.external_id}`,
      );
      if (match.id == null) {
        // Only the external CRM holds this customer: there is nothing here to
        // attach the call to, so the agent opens the record in that CRM.
        button.disabled = true;
        button.title = `In the external CRM (${match.external_id || "no id"}): open it there`;
        box.append(button);
        return;
      }
      button.addEventListener("click", async () => {
        // The server reads the picked customer's whole record and pushes the new pop.
        const result = await cc.api(`/api/calls/${encodeURIComponent(popCallId)}/customer`, {
          method: "POST",
          body: { customer_id: match.id },
        });
        if (result.ok) showPop(popCallId, result.data);
      });
      box.append(button);
    });
  }

  function showInteractions(rows) {
    const body = $("pop-interactions");
    body.replaceChildren(
      ...rows.map((row) =>
        cc.el(
          "tr",
          {},
          cc.el("td", {}, row.occurred_at ? new Date(row.occurred_at).toLocaleString() : ""),
          cc.el("td", {}, row.channel || ""),
          cc.el("td", {}, row.disposition || ""),
          cc.el("td", { class: "notes" }, row.notes || ""),
        ),
      ),
    );
    $("pop-no-interactions").hidden = rows.length > 0;
  }

  function showPop(callId, pop) {
    popCallId = callId || pop.call_id || null;
    $("pop").dataset.callId = popCallId || "";
    $("pop-caller").textContent = pop.caller_number || "\u2014";
    $("pop-queue").textContent = pop.queue || "\u2014";
    $("pop-why").textContent = pop.routed_because || "\u2014";
    $("pop-why-box").hidden = !pop.routed_because;
    $("pop-crm-unavailable").hidden = pop.crm_available !== false;
    $("pop-new-contact").hidden = !pop.new_contact;
    showCustomer(pop.customer || null);
    showMatches(pop);
    showDepartments(pop);
    $("pop-crm-unavailable").textContent = pop.crm_source === "local"
      ? "CRM unavailable \u2014 showing what this call center holds locally."
      : "CRM unavailable \u2014 customer details could not be loaded.";
    showInteractions(Array.isArray(pop.last_interactions) ? pop.last_interactions : []);
    $("pop").hidden = false;
    $("pop-empty").hidden = true;
  }

  function clearPop(callId) {
    if (callId && popCallId && callId !== popCallId) return; // an older call's withdrawal
    popCallId = null;
    $("pop").hidden = true;
    $("pop").dataset.callId = "";
    $("pop-empty").hidden = false;
    for (const id of ["pop-customer-name", "pop-tier", "pop-caller", "pop-queue", "pop-why"]) {
      $(id).textContent = "";
    }
    $("pop-interactions").replaceChildren();
    $("pop-matches").replaceChildren();
  }

  function onMessage(message) {
    switch (message.type) {
      case "state":
        if (typeof message.now === "number") clockOffsetS = message.now - Date.now() / 1000;
        showAgent(message.agent);
        break;
      case "pop":
        showPop(message.call_id, message.pop || {});
        break;
      case "pop_withdrawn":
        clearPop(message.call_id);
        break;
      case "call":
        showCall(message.status);
        if (message.control) showControl(message.control);
        break;
      default:
        break;
    }
  }

  function onStatus(status) {
    const conn = $("conn-status");
    conn.textContent = status === "live" ? "Live" : "Reconnecting\u2026";
    conn.className = `conn ${status}`;
    if (status === "live") {
      // The server now sends the current state and pop; drop what may be stale.
      clearPop(null);
      showCall("idle");
    }
  }

  /* Reason and disposition codes come from the admins' lists; without a
     database behind the page (503) the built-in reasons and free text stay. */
  async function loadCodes() {
    const reasons = await cc.api("/api/reason-codes");
    if (reasons.ok) {
      const active = reasons.data.reason_codes.filter((c) => c.active);
      if (active.length) {
        $("not-ready-reason").replaceChildren(...active.map((c) => cc.el("option", { value: c.code }, c.label)));
      }
    }
    const dispositions = await cc.api("/api/disposition-codes");
    if (dispositions.ok) {
      const active = dispositions.data.disposition_codes.filter((c) => c.active);
      if (active.length) {
        const select = $("wrap-disposition-code");
        select.replaceChildren(
          cc.el("option", { value: "" }, "Choose a disposition\u2026"),
          ...active.map((c) =>
            cc.el("option", { value: c.code, dataset: { notes: c.requires_notes ? "required" : "" } }, c.label),
          ),
        );
        select.hidden = false;
        $("wrap-disposition").hidden = true;
        select.addEventListener("change", () => {
          const option = select.selectedOptions[0];
          $("wrap-notes").placeholder = option && option.dataset.notes ? "Notes (required for this disposition)" : "Notes";
        });
      }
    }
  }

  /* The agent's own recordings (the server gives an agent no one else's), by call. */
  async function ownRecordings() {
    const { ok, data } = await cc.api("/api/recordings?limit=100");
    const byCall = new Map();
    if (ok) for (const recording of data.recordings) byCall.set(recording.call_id, recording);
    return byCall;
  }

  function player(recording) {
    if (!recording) return "";
    // preload=none: nothing is fetched (nor audited) until the agent presses play.
    return cc.el("audio", { controls: "", preload: "none", src: recording.audio_url, "aria-label": "Recording" });
  }

  async function loadHistory() {
    const { ok, data } = await cc.api("/api/agent/history?limit=20");
    if (!ok) return;
    const recordings = await ownRecordings();
    const rows = data.calls.map((call) =>
      cc.el(
        "tr",
        { dataset: { callId: call.call_id } },
        cc.el("td", {}, new Date(call.enqueued_at).toLocaleString()),
        cc.el("td", {}, call.queue),
        cc.el("td", {}, call.caller_number),
        cc.el("td", {}, call.outcome || "in progress"),
        cc.el("td", { class: "disposition" }, call.disposition || ""),
        cc.el("td", { class: "muted" }, call.notes || ""),
        cc.el("td", { class: "recording" }, player(recordings.get(call.call_id))),
      ),
    );
    $("history").replaceChildren(...rows);
    $("history-empty").hidden = rows.length > 0;
  }

  $("btn-ready").addEventListener("click", () => askState("ready"));
  $("btn-not-ready").addEventListener("click", () => askState("not_ready"));
  $("btn-logout").addEventListener("click", () => cc.logout());
  $("btn-hold").addEventListener("click", () => callAction("hold"));
  $("btn-resume").addEventListener("click", () => callAction("resume"));
  $("btn-hangup").addEventListener("click", () => callAction("hangup"));
  const note = () => $("transfer-note").value || null;
  $("btn-transfer").addEventListener("click", () =>
    callAction("transfer", { target: target(), mode: "blind", note: note() }),
  );
  $("btn-consult").addEventListener("click", () =>
    callAction("transfer", { target: target(), mode: "attended", note: note() }),
  );
  $("btn-conference").addEventListener("click", () =>
    callAction("conference", { target: target() }),
  );
  $("btn-rec-pause").addEventListener("click", () => callAction("recording/pause"));
  $("btn-rec-resume").addEventListener("click", () => callAction("recording/resume"));
  $("btn-complete").addEventListener("click", () => callAction("complete"));
  $("btn-join").addEventListener("click", () => callAction("join"));
  $("btn-cancel").addEventListener("click", () => callAction("cancel"));
  $("btn-wrap-done").addEventListener("click", wrapUpDone);
  $("new-contact-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("new-contact-error").textContent = "";
    const body = { name: $("new-contact-name").value };
    if ($("new-contact-email").value) body.email = $("new-contact-email").value;
    const result = await cc.api(`/api/calls/${encodeURIComponent(popCallId)}/contact`, { method: "POST", body });
    if (result.ok) {
      $("new-contact-name").value = "";
      $("new-contact-email").value = "";
      showPop(popCallId, result.data);
    } else if (result.status !== 401) {
      $("new-contact-error").textContent = cc.errorText(result.data, "Not created.");
    }
  });
  setInterval(tick, 1000);
  loadCodes();
  loadHistory();
  cc.liveSocket("/ws/agent", { onMessage, onStatus });
})();
