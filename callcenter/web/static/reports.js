"use strict";

/* The reports page: a period of local days (the center's time zone), the
   figures by day, hour, queue or agent as a table and two SVG charts, CSV
   downloads of the same figures, first-contact resolution, seat usage and the
   dormant valuable customers. Every number comes from /api/reports/...; the
   page only lays them out (definitions in docs/reports.md). */
(() => {
  const $ = (id) => document.getElementById(id);
  const KEY_HEADS = { day: "Day", hour: "Hour", queue: "Queue", agent: "Agent" };

  const pct = (v) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)} %`);
  const secs = (v) => (v === null || v === undefined ? "—" : cc.duration(v));
  const score = (v) => (v === null || v === undefined ? "—" : v.toFixed(2));

  function isoDay(date) {
    const local = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
    return local.toISOString().slice(0, 10);
  }

  function periodQuery() {
    const params = new URLSearchParams({ from_day: $("report-since").value, to_day: $("report-until").value });
    const queue = $("report-queue").value.trim();
    if (queue) params.set("queue", queue);
    return params;
  }

  function shortKey(key, groupBy) {
    if (groupBy === "hour") return key.slice(11, 16);
    if (groupBy === "day") return key.slice(5);
    return key;
  }

  function renderCalls(data) {
    const groupBy = data.group_by;
    $("report-key-head").textContent = KEY_HEADS[groupBy];
    $("report-period").textContent = `${data.period.start} to ${data.period.end} (${data.timezone})`;
    $("report-rows").replaceChildren(
      ...data.rows.map((row) =>
        cc.el(
          "tr",
          { dataset: { key: row.key } },
          cc.el("td", {}, row.key),
          cc.el("td", { class: "num offered" }, row.offered),
          cc.el("td", { class: "num answered" }, row.answered),
          cc.el("td", { class: "num abandoned" }, row.abandoned),
          cc.el("td", { class: "num sl" }, pct(row.service_level)),
          cc.el("td", { class: "num sl2" }, pct(row.service_level_with_abandons)),
          cc.el("td", { class: "num asa" }, secs(row.asa_s)),
          cc.el("td", { class: "num aht" }, secs(row.aht_s)),
          cc.el("td", { class: "num abandon-rate" }, pct(row.abandon_rate)),
          cc.el("td", { class: "num csat" }, score(row.csat_avg)),
        ),
      ),
    );
    const rows = data.rows.map((row) => ({ label: shortKey(row.key, groupBy), values: [row.answered, row.abandoned] }));
    $("chart-volume").replaceChildren(
      ccCharts.bars("Answered and abandoned calls", rows, [
        { name: "answered", class: "answered" },
        { name: "abandoned", class: "abandoned" },
      ]),
    );
    const sl = data.rows.map((row) => ({ label: shortKey(row.key, groupBy), values: [row.service_level] }));
    $("chart-sl").replaceChildren(
      ccCharts.bars("Service level", sl, [{ name: "service level", class: "sl" }], { format: ccCharts.percent, max: 1, target: 0.8 }),
    );
  }

  function renderAgents(data) {
    $("agent-rows").replaceChildren(
      ...data.agents.map((agent) =>
        cc.el(
          "tr",
          { dataset: { agentId: agent.agent_id } },
          cc.el("td", {}, agent.agent_id),
          cc.el("td", { class: "num handled" }, agent.handled),
          cc.el("td", { class: "num aht" }, secs(agent.aht_s)),
          cc.el("td", { class: "num occupancy" }, pct(agent.occupancy)),
          cc.el("td", { class: "num" }, secs(agent.logged_in_s)),
          cc.el("td", { class: "num" }, secs(agent.not_ready_s)),
          cc.el("td", { class: "num csat" }, score(agent.csat_avg)),
        ),
      ),
    );
  }

  function renderFcr(data) {
    $("fcr-definition").textContent =
      `Resolved: no other contact from the same customer, on any channel, within ${data.days} days. ` +
      "Pending: the window is not over yet (left out of the rate).";
    const row = (name, f) =>
      cc.el(
        "tr",
        { dataset: { queue: name } },
        cc.el("td", {}, name),
        cc.el("td", { class: "num" }, f.contacts),
        cc.el("td", { class: "num" }, f.resolved),
        cc.el("td", { class: "num" }, f.repeated),
        cc.el("td", { class: "num" }, f.pending),
        cc.el("td", { class: "num fcr-rate" }, pct(f.rate)),
      );
    $("fcr-rows").replaceChildren(
      row("All", data.overall),
      ...Object.entries(data.by_queue).map(([name, figures]) => row(name, figures)),
    );
  }

  function renderSeats(data) {
    const oneDay = data.daily_peaks.length <= 1;
    const points = data.samples.map((s) => ({
      label: oneDay ? s.at.slice(11, 16) : s.at.slice(5, 10),
      value: s.logged_in,
    }));
    $("chart-seats").replaceChildren(ccCharts.line("Agents logged in", points));
    $("seat-rows").replaceChildren(
      ...data.daily_peaks.map((p) =>
        cc.el("tr", { dataset: { day: p.day } }, cc.el("td", {}, p.day), cc.el("td", { class: "num peak" }, p.peak), cc.el("td", {}, p.at || "—")),
      ),
    );
  }

  async function show() {
    const query = periodQuery();
    const groupBy = $("report-group").value;
    const history = new URLSearchParams(query);
    history.set("group_by", groupBy);
    $("report-csv").href = `/api/reports/history?${history}&format=csv`;
    $("agents-csv").href = `/api/reports/agents?${query}&format=csv`;
    const [calls, agents, fcr, seats] = await Promise.all([
      cc.api(`/api/reports/history?${history}`),
      cc.api(`/api/reports/agents?${query}`),
      cc.api(`/api/reports/fcr?${query}`),
      cc.api(`/api/reports/seats?from_day=${query.get("from_day")}&to_day=${query.get("to_day")}&step_s=3600`),
    ]);
    const failed = [calls, agents, fcr, seats].find((r) => !r.ok);
    $("report-error").textContent = failed ? cc.errorText(failed.data, `The report failed (${failed.status}).`) : "";
    if (calls.ok) renderCalls(calls.data);
    if (agents.ok) renderAgents(agents.data);
    if (fcr.ok) renderFcr(fcr.data);
    if (seats.ok) renderSeats(seats.data);
  }

  function dormantQuery() {
    return new URLSearchParams({ days: $("dormant-days").value, min_lifetime_value: $("dormant-value").value });
  }

  async function listDormant() {
    const reply = await cc.api(`/api/reports/dormant?${dormantQuery()}`);
    if (!reply.ok) {
      $("report-error").textContent = cc.errorText(reply.data, `The list failed (${reply.status}).`);
      return;
    }
    $("dormant-rows").replaceChildren(
      ...reply.data.customers.map((c) =>
        cc.el(
          "tr",
          { dataset: { customerId: c.customer_id } },
          cc.el("td", {}, c.name),
          cc.el("td", {}, c.account_number),
          cc.el("td", {}, c.tier),
          cc.el("td", { class: "num" }, c.lifetime_value),
          cc.el("td", {}, c.last_contact_at ? c.last_contact_at.slice(0, 10) : "never"),
          cc.el("td", {}, c.phone || ""),
        ),
      ),
    );
  }

  function updateDormantCsv() {
    $("dormant-csv").href = `/api/reports/dormant?${dormantQuery()}&format=csv`;
  }

  const today = new Date();
  $("report-until").value = isoDay(today);
  $("report-since").value = isoDay(new Date(today.getTime() - 6 * 86400000));
  $("report-form").addEventListener("submit", (event) => {
    event.preventDefault();
    show();
  });
  $("dormant-form").addEventListener("submit", (event) => {
    event.preventDefault();
    listDormant();
  });
  $("dormant-form").addEventListener("input", updateDormantCsv);
  $("btn-logout").addEventListener("click", () => cc.logout());
  updateDormantCsv();
  show();
})();
