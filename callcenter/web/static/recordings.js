"use strict";

/* The wallboard's recordings search: by queue, agent, customer, disposition and
   dates; each found recording plays in the browser's own player, which seeks
   with Range requests. The server decides what a supervisor may hear (their
   queues); every play is on the audit trail. */
(() => {
  const $ = (id) => document.getElementById(id);

  function query() {
    const params = new URLSearchParams({ limit: "50" });
    const text = { queue: "rec-queue", agent_id: "rec-agent", customer_id: "rec-customer", disposition: "rec-disposition" };
    for (const [name, id] of Object.entries(text)) {
      const value = $(id).value.trim();
      if (value) params.set(name, value);
    }
    // Dates are the supervisor's local days.
    if ($("rec-since").value) params.set("since", new Date(`${$("rec-since").value}T00:00`).toISOString());
    if ($("rec-until").value) {
      const end = new Date(`${$("rec-until").value}T00:00`);
      end.setDate(end.getDate() + 1);
      params.set("until", end.toISOString());
    }
    return params;
  }

  function pauses(recording) {
    if (!recording.pauses.length) return "";
    const total = recording.pauses.reduce((sum, pause) => sum + pause.duration_s, 0);
    return `${recording.pauses.length} (${cc.duration(total)})`;
  }

  async function search(event) {
    if (event) event.preventDefault();
    $("recordings-error").textContent = "";
    const { ok, data, status } = await cc.api(`/api/recordings?${query()}`);
    if (!ok) {
      if (status !== 401) $("recordings-error").textContent = cc.errorText(data, "Search failed.");
      return;
    }
    const rows = data.recordings.map((recording) =>
      cc.el(
        "tr",
        { dataset: { recordingId: recording.id, callId: recording.call_id } },
        cc.el("td", {}, new Date(recording.started_at).toLocaleString()),
        cc.el("td", {}, recording.queue),
        cc.el("td", {}, recording.caller_number),
        cc.el("td", {}, recording.agent_ids.join(", ")),
        cc.el("td", { class: "num" }, cc.duration(recording.duration_s)),
        cc.el("td", {}, recording.disposition || ""),
        cc.el("td", { class: "pauses" }, pauses(recording)),
        cc.el("td", {}, cc.el("audio", { controls: "", preload: "none", src: recording.audio_url, "aria-label": "Recording" })),
      ),
    );
    $("recordings").replaceChildren(...rows);
    $("recordings-empty").hidden = rows.length > 0;
  }

  $("recordings-form").addEventListener("submit", search);
  search();
})();
