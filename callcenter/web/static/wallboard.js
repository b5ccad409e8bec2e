"use strict";

/* The supervisors' wallboard: snapshots pushed over /ws/wallboard about every
   second; between snapshots the durations keep counting from the moment the
   snapshot arrived, so a wrong PC clock does not distort them. */
(() => {
  const $ = (id) => document.getElementById(id);
  const WAIT_WARN_S = 30;
  const WAIT_ALERT_S = 90;
  /* tile id -> the agent states it counts (a reserved agent's phone is about to ring) */
  const COUNT_IDS = {
    "count-ready": ["ready"],
    "count-ringing": ["reserved", "ringing"],
    "count-on-call": ["on_call"],
    "count-wrap-up": ["wrap_up"],
    "count-not-ready": ["not_ready"],
    "count-logged-out": ["logged_out"],
  };
  let board = null;
  let receivedAt = 0;

  function sinceSnapshotS() {
    return (performance.now() - receivedAt) / 1000;
  }

  function waitClass(seconds) {
    if (seconds >= WAIT_ALERT_S) return "alert";
    if (seconds >= WAIT_WARN_S) return "warn";
    return "";
  }

  function renderWaiting() {
    const extra = sinceSnapshotS();
    const rows = board.waiting.map((call) => {
      const waited = call.waited_s + extra;
      return cc.el(
        "tr",
        { class: waitClass(waited), dataset: { callId: call.call_id } },
        cc.el("td", {}, call.queue),
        cc.el("td", {}, call.caller_number),
        cc.el("td", { class: "num wait" }, cc.duration(waited)),
        cc.el("td", { class: "routing" }, call.routing || "waiting for the CRM"),
      );
    });
    $("wallboard-waiting").replaceChildren(...rows);
    $("wallboard-no-waiting").hidden = rows.length > 0;
    $("count-waiting").textContent = String(board.waiting.length);
    const longest = board.waiting.reduce((most, call) => Math.max(most, call.waited_s), 0);
    $("longest-wait").textContent = cc.duration(board.waiting.length ? longest + extra : 0);

    const queues = Object.entries(board.queues || {}).sort(([a], [b]) => a.localeCompare(b));
    $("wallboard-queues").replaceChildren(
      ...queues.map(([name, summary]) =>
        cc.el(
          "tr",
          { class: waitClass(summary.longest_wait_s + extra) },
          cc.el("td", {}, name),
          cc.el("td", { class: "num" }, String(summary.waiting)),
          cc.el("td", { class: "num" }, cc.duration(summary.longest_wait_s + extra)),
        ),
      ),
    );
  }

  function renderAgents() {
    const extra = sinceSnapshotS();
    const rows = board.agents.map((agent) => {
      const detail =
        agent.state === "not_ready" ? agent.reason || "" : agent.queue ? `queue ${agent.queue}` : "";
      return cc.el(
        "tr",
        { dataset: { agentLogin: agent.login, state: agent.state } },
        cc.el("td", {}, cc.el("strong", {}, agent.name), " ", cc.el("span", { class: "muted" }, agent.login)),
        cc.el("td", {}, cc.el("span", { class: `badge state-${agent.state}` }, cc.stateLabel(agent.state))),
        cc.el("td", { class: "num" }, cc.duration(agent.in_state_s + extra)),
        cc.el("td", { class: "muted" }, detail),
      );
    });
    $("wallboard-agents").replaceChildren(...rows);
    for (const [id, states] of Object.entries(COUNT_IDS)) {
      const total = states.reduce((sum, state) => sum + ((board.counts && board.counts[state]) || 0), 0);
      $(id).textContent = String(total);
    }
  }

  function render() {
    if (!board) return;
    renderWaiting();
    renderAgents();
  }

  function onMessage(message) {
    if (message.type !== "wallboard") return;
    board = message;
    receivedAt = performance.now();
    render();
  }

  function onStatus(status) {
    const conn = $("conn-status");
    conn.textContent = status === "live" ? "Live" : "Reconnecting\u2026";
    conn.className = `conn ${status}`;
  }

  $("btn-logout").addEventListener("click", () => cc.logout());
  setInterval(render, 1000);
  cc.liveSocket("/ws/wallboard", { onMessage, onStatus });
})();
