/* Shared helpers for the pages: JSON fetch, safe DOM building, a reconnecting
   websocket and duration formatting. Data is always put in the DOM as text, never
   as HTML, so a CRM note cannot inject markup. */
"use strict";

const cc = (() => {
  function loginUrl() {
    return "/login?next=" + encodeURIComponent(location.pathname);
  }

  async function api(path, { method = "GET", body } = {}) {
    const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (response.status === 401 && path !== "/api/login") {
      location.href = loginUrl();
    }
    return { status: response.status, ok: response.ok, data };
  }

  function errorText(data, fallback) {
    if (!data || data.detail === undefined) return fallback;
    if (typeof data.detail === "string") return data.detail;
    if (Array.isArray(data.detail)) {
      return data.detail.map((e) => `${e.field}: ${e.reason}`).join("; ");
    }
    if (data.detail && typeof data.detail.message === "string") return data.detail.message;
    return fallback;
  }

  /* el("td", {class: "x", dataset: {login: "a"}}, "text", otherNode) */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null) continue;
      if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === undefined || child === null) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function duration(seconds) {
    const total = Math.max(0, Math.floor(seconds));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = String(total % 60).padStart(2, "0");
    return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
  }

  const STATE_LABELS = {
    logged_out: "Logged out",
    ready: "Ready",
    not_ready: "Not ready",
    reserved: "Reserved",
    ringing: "Ringing",
    on_call: "On call",
    wrap_up: "Wrap-up",
  };

  function stateLabel(state) {
    return STATE_LABELS[state] || state;
  }

  /* A websocket that reconnects with exponential backoff and jitter, pings to keep
     proxies from idling it out, and sends the user to the login page when the
     server says the session is gone (4401/4403, or a refused handshake while
     /api/me says 401). */
  function liveSocket(path, { onMessage, onStatus }) {
    let delayMs = 500;
    let pingTimer = null;
    let stopped = false;

    function open() {
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      const socket = new WebSocket(`${scheme}//${location.host}${path}`);
      let opened = false;
      socket.addEventListener("open", () => {
        opened = true;
        delayMs = 500;
        onStatus("live");
        pingTimer = setInterval(() => socket.send(JSON.stringify({ type: "ping" })), 25000);
      });
      socket.addEventListener("message", (event) => {
        let message;
        try {
          message = JSON.parse(event.data);
        } catch (_) {
          return;
        }
        onMessage(message);
      });
      socket.addEventListener("close", async (event) => {
        clearInterval(pingTimer);
        if (stopped) return;
        if (event.code === 4401 || event.code === 4403) {
          location.href = loginUrl();
          return;
        }
        onStatus("reconnecting");
        if (!opened) {
          const me = await fetch("/api/me", { credentials: "same-origin" }).catch(() => null);
          if (me && me.status === 401) {
            location.href = loginUrl();
            return;
          }
        }
        const wait = delayMs * (0.75 + Math.random() * 0.5);
        delayMs = Math.min(delayMs * 2, 15000);
        setTimeout(open, wait);
      });
    }

    open();
    return {
      stop() {
        stopped = true;
      },
    };
  }

  async function logout() {
    await api("/api/logout", { method: "POST" });
    location.href = "/login";
  }

  return { api, errorText, el, duration, stateLabel, liveSocket, logout, loginUrl };
})();
