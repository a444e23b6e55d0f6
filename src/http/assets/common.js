// Shared helpers of the cadre pages: API calls, SSE over fetch, live events.
"use strict";

// POST `body` to `url` and call onEvent(obj) for each SSE `data:` object.
async function postSse(url, body, onEvent) {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
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
