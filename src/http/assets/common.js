// Shared helpers of the cadre pages: API calls, SSE over fetch, live events,
// copy buttons, the prompt view, health badges.
"use strict";

// POST `body` to `url` and call onEvent(obj) for each SSE `data:` object.
// Aborting `signal` ends the request (the server then cancels the provider's);
// the returned promise then rejects with an AbortError.
async function postSse(url, body, onEvent, signal) {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal });
  if (!res.ok || !res.body) {
    let err = { type: "error", code: "http_" + res.status, error: res.statusText };
    try { err = await res.json(); } catch (_) {}
    onEvent(err);
    return;
  }
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const data = block.split("\n").filter(l => l.startsWith("data:")).map(l => l.slice(5).replace(/^ /, "")).join("\n");
      if (data) { try { onEvent(JSON.parse(data)); } catch (_) {} }
    }
  }
}

async function getJson(url) {
  const res = await fetch(url, { cache: "no-store" });
  if (!res.ok) throw new Error(url + ": " + res.status);
  return res.json();
}

// Call onChange(event) on every reconcile event (and on reconnect).
function followEvents(onChange) {
  const es = new EventSource("/api/events");
  const kinds = ["hello", "resync", ...EVENT_KINDS];
  let later = null;
  for (const k of kinds) es.addEventListener(k, ev => {
    let d = {}; try { d = JSON.parse(ev.data); } catch (_) {}
    onChange(d);
    // A stop is announced when draining starts; the specialist leaves the list only once its
    // in-flight chats finish, so look again shortly after.
    if (d.kind === "stop" || d.kind === "restart") {
      clearTimeout(later);
      later = setTimeout(() => onChange({ kind: "resync" }), 1000);
    }
  });
  // Backstop for anything the event stream missed (reconnects, slow drains).
  setInterval(() => onChange({ kind: "resync" }), 5000);
  return es;
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

// A button that copies what text() returns; says so for a moment.
function copyButton(text, label) {
  const b = el("button", { type: "button", class: "tool copy", title: "Copy to the clipboard" }, label || "Copy");
  b.addEventListener("click", async () => {
    const ok = await copyText(text());
    b.textContent = ok ? "Copied" : "Copy failed";
    setTimeout(() => { b.textContent = label || "Copy"; }, 1200);
  });
  return b;
}

// The clipboard API needs a secure context (loopback is one; a LAN address
// over plain HTTP is not), so fall back to a selected textarea there.
async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try { await navigator.clipboard.writeText(text); return true; } catch (_) {}
  }
  const t = el("textarea", { class: "offscreen", readonly: "" });
  t.value = text;
  document.body.append(t);
  t.select();
  let ok = false;
  try { ok = document.execCommand("copy"); } catch (_) {}
  t.remove();
  return ok;
}

// Show the system prompt a specialist runs on (GET /api/specialists/NAME/prompt) in a dialog.
async function showPrompt(name) {
  let d = document.getElementById("prompt-dialog");
  if (!d) {
    d = el("dialog", { id: "prompt-dialog", "aria-labelledby": "prompt-title" },
      el("div", { class: "dialog-head" },
        el("h2", { id: "prompt-title" }),
        el("span", { class: "tools" },
          copyButton(() => document.getElementById("prompt-text").textContent),
          el("button", { type: "button", class: "tool", id: "prompt-close" }, "Close"))),
      el("pre", { id: "prompt-text", tabindex: "0" }));
    document.body.append(d);
    d.querySelector("#prompt-close").addEventListener("click", () => d.close());
  }
  const text = d.querySelector("#prompt-text");
  d.querySelector("#prompt-title").textContent = "System prompt of " + name;
  text.textContent = "loading…";
  delete text.dataset.loaded;
  if (!d.open) d.showModal();
  try {
    const res = await fetch("/api/specialists/" + encodeURIComponent(name) + "/prompt", { cache: "no-store" });
    if (!res.ok) {
      let msg = res.status + " " + res.statusText;
      try { const e = await res.json(); msg = e.code + ": " + e.error; } catch (_) {}
      text.textContent = "cannot load the prompt: " + msg;
      return;
    }
    text.textContent = await res.text();
    text.dataset.loaded = "1";
  } catch (e) {
    text.textContent = "cannot load the prompt: " + e.message;
  }
}

// Tokens a specialist used, as /api/specialists reports them (`usage`:
// prompt and completion tokens since the daemon started, how many of them
// were estimated, and `today`, which survives a restart). Empty before the
// first chat; nothing is guessed.
function usageText(s) {
  const u = s.usage;
  if (u == null || typeof u !== "object") return "";
  const sum = t => (t && (t.prompt_tokens || 0) + (t.completion_tokens || 0)) || 0;
  const total = sum(u), today = sum(u.today);
  if (total === 0 && today === 0) return "";
  let text = total + " tokens (" + (u.prompt_tokens || 0) + " in, " + (u.completion_tokens || 0) + " out)";
  if (u.today) text += " · " + today + " today";
  if (u.estimated_tokens) text += " · " + u.estimated_tokens + " estimated";
  return text;
}

// Provider and component health, as far as /api/specialists reports them:
// `provider_health` and `component_health`, each a status string or an
// object with `status` (and optionally `detail`, `latency_ms`). Absent or
// null → nothing shown; nothing is guessed.
function healthBadges(s) {
  const out = [];
  const badge = (what, h) => {
    if (h == null) return;
    const o = typeof h === "object" ? h : { status: h };
    if (o.status == null || o.status === "") return;
    const status = String(o.status);
    const good = /^(ok|up|healthy|ready)$/i.test(status);
    const slow = /^(slow|degraded|unknown)$/i.test(status);
    let text = what + ": " + status.replace(/_/g, " ");
    if (typeof o.latency_ms === "number") text += " · " + o.latency_ms + " ms";
    const b = el("span", { class: "badge " + (good ? "ok" : slow ? "warn" : "bad"), "data-health": what }, text);
    if (o.detail) b.title = String(o.detail);
    out.push(b);
  };
  badge("provider", s.provider_health);
  badge("component", s.component_health);
  return out;
}
