"use strict";

/* The supervisors' wallboard: snapshots pushed over /ws/wallboard about every
   second; between snapshots the durations keep counting from the moment the
   snapshot arrived, so a wrong PC clock does not distort them. */
(() => {
  const $ = (id) => document.getElementById(id);
  const WAIT_WARN_S = 30;
  const WAIT_ALERT_S = 90;
  /* Service level: green from 80 %, yellow from 60 %, red below. A queue's
     longest wait: green under its threshold, yellow under twice it, red beyond. */
  const SL_GOOD = 0.8;
  const SL_WARN = 0.6;
  const MODES = [
    ["monitor", "Monitor"],
    ["whisper", "Whisper"],
    ["barge", "Barge"],
  ];
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

    const stats = board.queue_stats || [];
    $("wallboard-queues").replaceChildren(
      ...stats.map((queue) => {
        const longest = queue.waiting ? queue.longest_wait_s + extra : 0;
        return cc.el(
          "tr",
          { dataset: { queue: queue.name } },
          cc.el("td", {}, queue.name),
          cc.el("td", { class: "num waiting" }, String(queue.waiting)),
          cc.el("td", { class: `num ${thresholdClass(longest, queue.service_level_s)}` }, cc.duration(longest)),
          cc.el(
            "td",
            { class: `num sl ${slClass(queue.service_level)}`, title: `within ${queue.service_level_s} s` },
            percent(queue.service_level),
          ),
          cc.el("td", { class: "num" }, queue.asa_s === null ? "\u2013" : cc.duration(queue.asa_s)),
          cc.el("td", { class: "num" }, percent(queue.abandon_rate)),
          cc.el("td", { class: "num" }, String(queue.answered)),
        );
      }),
    );
  }

  function percent(value) {
    return value === null || value === undefined ? "\u2013" : `${Math.round(value * 100)}%`;
  }

  function slClass(value) {
    if (value === null || value === undefined) return "";
    if (value >= SL_GOOD) return "good";
    if (value >= SL_WARN) return "fair";
    return "poor";
  }

  function thresholdClass(seconds, threshold) {
    if (seconds < threshold) return "good";
    if (seconds < 2 * threshold) return "fair";
    return "poor";
  }

  async function supervise(agent, mode) {
    const status = $("supervise-status");
    status.textContent = `Ringing your phone to ${mode} ${agent.name}\u2026`;
    const { ok, data } = await cc.api(`/api/calls/${encodeURIComponent(agent.call_id)}/supervise`, {
      method: "POST",
      body: { mode },
    });
    status.textContent = ok
      ? `${mode[0].toUpperCase()}${mode.slice(1)} started on ${agent.name}'s call: answer your phone.`
      : `Could not ${mode}: ${cc.errorText(data, "refused")}`;
    status.className = ok ? "ok" : "error";
  }

  function superviseButtons(agent) {
    if (agent.state !== "on_call" || !agent.call_id) return "";
    return cc.el(
      "span",
      { class: "supervise" },
      ...MODES.map(([mode, label]) => {
        const button = cc.el("button", { type: "button", class: "small", dataset: { mode } }, label);
        button.addEventListener("click", () => supervise(agent, mode));
        return button;
      }),
    );
  }

  function renderAgents() {
    const extra = sinceSnapshotS();
    const rows = board.agents.map((agent) => {
      const detail =
        agent.state === "not_ready"
          ? agent.reason || ""
          : agent.call_id
            ? `${agent.queue || ""} \u00b7 ${agent.call_id}`
            : "";
      return cc.el(
        "tr",
        { dataset: { agentLogin: agent.login, state: agent.state } },
        cc.el("td", {}, cc.el("strong", {}, agent.name), " ", cc.el("span", { class: "muted" }, agent.login)),
        cc.el("td", {}, cc.el("span", { class: `badge state-${agent.state}` }, cc.stateLabel(agent.state))),
        cc.el("td", { class: "num" }, cc.duration(agent.in_state_s + extra)),
        cc.el("td", { class: "muted" }, detail),
        cc.el("td", {}, superviseButtons(agent)),
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
