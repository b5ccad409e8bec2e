"use strict";

/* The wallboard's counted figures: service level (SL or SL2, as the center
   chose), ASA, AHT, abandons, CSAT and occupancy over the last half hour and
   today, and the agents each queue needs now (Erlang C) beside those logged in.
   They come from the call records, so they are fetched every 15 s rather than
   pushed with the live board every second. */
(() => {
  const $ = (id) => document.getElementById(id);
  const REFRESH_MS = 15000;
  const pct = (v) => (v === null || v === undefined ? "\u2013" : `${Math.round(v * 100)}%`);
  const secs = (v) => (v === null || v === undefined ? "\u2013" : cc.duration(v));

  function shownLevel(figures, which) {
    if (!figures) return null;
    return which === "sl2" ? figures.service_level_with_abandons : figures.service_level;
  }

  function staffClass(staffing) {
    if (staffing.agents_needed === 0) return "";
    return staffing.agents_logged_in >= staffing.agents_needed ? "good" : "poor";
  }

  function render(report) {
    const which = report.shown_service_level;
    const label = which === "sl2" ? "SL2" : "SL";
    $("figures-sl-window-head").textContent = `${label} (${report.window_minutes} min)`;
    $("figures-sl-today-head").textContent = `${label} today`;
    $("figures-definition").textContent =
      which === "sl2"
        ? "SL2: answered within the threshold / (answered + abandoned)."
        : "SL: answered within the threshold / answered (abandons left out).";
    $("figures-at").textContent = `(${report.timezone})`;
    $("figures-queues").replaceChildren(
      ...report.queues.map((queue) =>
        cc.el(
          "tr",
          { dataset: { queue: queue.name } },
          cc.el("td", {}, queue.name),
          cc.el("td", { class: "num sl-window" }, pct(shownLevel(queue.window, which))),
          cc.el("td", { class: "num sl-today" }, pct(shownLevel(queue.today, which))),
          cc.el("td", { class: "num" }, secs(queue.today && queue.today.asa_s)),
          cc.el("td", { class: "num aht-today" }, secs(queue.today && queue.today.aht_s)),
          cc.el("td", { class: "num" }, pct(queue.today && queue.today.abandon_rate)),
          cc.el("td", { class: "num" }, queue.today && queue.today.csat_avg !== null ? queue.today.csat_avg.toFixed(1) : "\u2013"),
          cc.el("td", { class: `num needed ${staffClass(queue.staffing)}` }, String(queue.staffing.agents_needed)),
          cc.el("td", { class: "num logged-in" }, String(queue.staffing.agents_logged_in)),
        ),
      ),
    );
    $("figures-occupancy").textContent =
      `Occupancy: ${pct(report.occupancy.window)} over the last ${report.window_minutes} min, ${pct(report.occupancy.today)} today.`;
    const bars = report.queues.map((queue) => ({ label: queue.name, values: [shownLevel(queue.today, which)] }));
    $("chart-queue-sl").replaceChildren(
      ccCharts.bars(`${label} by queue`, bars, [{ name: label, class: "sl" }], { format: ccCharts.percent, max: 1, target: 0.8 }),
    );
    return report.today;
  }

  /* today: {start, end} as the server counts it (its clock, the center's zone) */
  async function renderHourly(today) {
    const period = new URLSearchParams({ group_by: "hour", since: today.start, until: today.end });
    const reply = await cc.api(`/api/reports/history?${period}`);
    if (!reply.ok) return;
    const rows = reply.data.rows.map((row) => ({ label: row.key.slice(11, 16), values: [row.answered, row.abandoned] }));
    $("chart-hourly").replaceChildren(
      ccCharts.bars("Calls per hour", rows, [
        { name: "answered", class: "answered" },
        { name: "abandoned", class: "abandoned" },
      ]),
    );
  }

  async function refresh() {
    const reply = await cc.api("/api/reports/realtime");
    if (reply.ok) await renderHourly(render(reply.data));
  }

  refresh();
  setInterval(refresh, REFRESH_MS);
})();
