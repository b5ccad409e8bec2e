"use strict";

/* Small SVG charts drawn by the page itself (no library, no CDN): bars for a
   figure per queue / hour / day, stacked when there are several series, and a
   line for a figure over time. Labels are put in as text nodes, never as
   markup, like everything else the pages show. */
const ccCharts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const WIDTH = 640;
  const HEIGHT = 200;
  const PAD = { top: 12, right: 12, bottom: 34, left: 44 };

  function svgEl(tag, attrs = {}, text) {
    const node = document.createElementNS(NS, tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function frame(title) {
    const svg = svgEl("svg", {
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      class: "chart",
      role: "img",
      "aria-label": title,
    });
    svg.append(svgEl("title", {}, title));
    return svg;
  }

  function axis(svg, max, format) {
    const plotH = HEIGHT - PAD.top - PAD.bottom;
    for (const share of [0, 0.5, 1]) {
      const y = PAD.top + plotH * (1 - share);
      svg.append(svgEl("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y, y2: y, class: "grid" }));
      svg.append(svgEl("text", { x: PAD.left - 6, y: y + 4, class: "tick", "text-anchor": "end" }, format(max * share)));
    }
  }

  /* A round top for the axis: counts get whole-number ticks at 0, half, top. */
  function niceTop(largest) {
    if (largest <= 2) return 2;
    const step = 10 ** Math.floor(Math.log10(largest));
    return Math.ceil(largest / step / 2) * 2 * step;
  }

  /* Fewer labels than bars when they would overlap. */
  function labelEvery(count) {
    return Math.max(1, Math.ceil(count / 12));
  }

  /* rows: [{label, values: [n, ...]}]; series: [{name, class}] (stacked) */
  function bars(title, rows, series, { format = (v) => String(Math.round(v)), max, target } = {}) {
    const svg = frame(title);
    const totals = rows.map((row) => row.values.reduce((sum, v) => sum + (v || 0), 0));
    const top = max !== undefined ? max : niceTop(Math.max(0, ...totals));
    axis(svg, top, format);
    const plotW = WIDTH - PAD.left - PAD.right;
    const plotH = HEIGHT - PAD.top - PAD.bottom;
    const slot = plotW / Math.max(1, rows.length);
    const every = labelEvery(rows.length);
    rows.forEach((row, index) => {
      let base = 0;
      const x = PAD.left + index * slot + slot * 0.15;
      row.values.forEach((value, s) => {
        const height = ((value || 0) / top) * plotH;
        const y = PAD.top + plotH - base - height;
        const bar = svgEl("rect", {
          x,
          y,
          width: Math.max(1, slot * 0.7),
          height: Math.max(0, height),
          class: `bar ${series[s].class}`,
          "data-key": row.label,
          "data-series": series[s].name,
          "data-value": value === null || value === undefined ? "" : value,
        });
        bar.append(svgEl("title", {}, `${row.label} ${series[s].name}: ${value === null ? "—" : format(value)}`));
        svg.append(bar);
        base += height;
      });
      if (index % every === 0) {
        svg.append(svgEl("text", { x: x + slot * 0.35, y: HEIGHT - PAD.bottom + 14, class: "tick", "text-anchor": "middle" }, row.label));
      }
    });
    if (target !== undefined && target !== null) {
      const y = PAD.top + plotH * (1 - target / top);
      svg.append(svgEl("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y, y2: y, class: "target" }));
    }
    if (series.length > 1) legend(svg, series);
    return svg;
  }

  /* points: [{label, value}] */
  function line(title, points, { format = (v) => String(Math.round(v)), max } = {}) {
    const svg = frame(title);
    const top = max !== undefined ? max : niceTop(Math.max(0, ...points.map((p) => p.value || 0)));
    axis(svg, top, format);
    const plotW = WIDTH - PAD.left - PAD.right;
    const plotH = HEIGHT - PAD.top - PAD.bottom;
    const step = points.length > 1 ? plotW / (points.length - 1) : 0;
    const xy = points.map((p, i) => [PAD.left + i * step, PAD.top + plotH * (1 - (p.value || 0) / top)]);
    if (xy.length) {
      svg.append(svgEl("polyline", { points: xy.map(([x, y]) => `${x},${y}`).join(" "), class: "series" }));
    }
    const every = labelEvery(points.length);
    points.forEach((p, i) => {
      const dot = svgEl("circle", { cx: xy[i][0], cy: xy[i][1], r: 2.5, class: "point", "data-key": p.label, "data-value": p.value });
      dot.append(svgEl("title", {}, `${p.label}: ${format(p.value || 0)}`));
      svg.append(dot);
      if (i % every === 0) {
        svg.append(svgEl("text", { x: xy[i][0], y: HEIGHT - PAD.bottom + 14, class: "tick", "text-anchor": "middle" }, p.label));
      }
    });
    return svg;
  }

  function legend(svg, series) {
    series.forEach((s, i) => {
      const x = PAD.left + i * 110;
      svg.append(svgEl("rect", { x, y: HEIGHT - 14, width: 10, height: 10, class: `swatch ${s.class}` }));
      svg.append(svgEl("text", { x: x + 14, y: HEIGHT - 5, class: "tick" }, s.name));
    });
  }

  const percent = (v) => `${Math.round(v * 100)} %`;

  return { bars, line, percent };
})();
