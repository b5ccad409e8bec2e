"use strict";

/* Only a path on this site may be the target after login (no open redirect). */
function safeNext(value) {
  if (!value || !value.startsWith("/") || value.startsWith("//") || value.includes("\\")) {
    return null;
  }
  return value;
}

function homeFor(principal) {
  if (principal.roles.includes("agent")) return "/agent";
  if (principal.roles.includes("supervisor") || principal.roles.includes("admin")) {
    return "/wallboard";
  }
  return "/";
}

document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("login-error");
  const submit = document.getElementById("login-submit");
  const username = document.getElementById("login-username").value.trim();
  const password = document.getElementById("login-password").value;
  if (!username || !password) {
    error.textContent = "Enter your username and password.";
    return;
  }
  error.textContent = "";
  submit.disabled = true;
  try {
    const result = await cc.api("/api/login", { method: "POST", body: { username, password } });
    if (result.ok) {
      const next = safeNext(new URLSearchParams(location.search).get("next"));
      location.href = next || homeFor(result.data);
      return;
    }
    error.textContent =
      result.status === 401
        ? "Wrong username or password."
        : cc.errorText(result.data, `Login failed (${result.status}).`);
  } catch (_) {
    error.textContent = "The server cannot be reached.";
  } finally {
    submit.disabled = false;
  }
});
