// The team page: a card per specialist (state, health, prompt), Team Chat
// with Markdown answers and a stop button, live reconcile events. A team
// of teams.d chosen in the selector runs instead (rounds.js).
"use strict";

const cards = document.getElementById("cards");
const summary = document.getElementById("summary");
const form = document.getElementById("team-form");
const input = document.getElementById("team-message");
const send = document.getElementById("team-send");
const stop = document.getElementById("team-stop");
let finished = 0;
// The round in progress: its AbortController, and a MarkdownStream per streaming card.
let round = null;

function card(name) {
  let c = document.getElementById("card-" + name);
  if (!c) {
    const prompt = el("button", { type: "button", class: "tool prompt", title: "The system prompt " + name + " runs on" }, "Prompt");
    prompt.addEventListener("click", () => showPrompt(name));
    c = el("article", { class: "card", id: "card-" + name, "data-name": name },
      el("h2", { class: "title" }, el("a", { href: "/s/" + name, class: "title-link" })),
      el("div", { class: "role meta" }),
      el("div", { class: "model meta" }),
      el("div", { class: "state" }),
      el("div", { class: "health" }),
      el("div", { class: "revision meta" }),
      el("div", { class: "usage meta" }),
      el("div", { class: "error" }),
      el("div", { class: "answer md", "aria-live": "polite" }),
      el("div", { class: "tools" }, prompt));
    cards.append(c);
  }
  return c;
}

function render(list) {
  const names = new Set(list.map(s => s.name));
  for (const c of [...cards.children]) if (!names.has(c.dataset.name)) c.remove();
  for (const s of list) {
    const c = card(s.name);
    c.querySelector(".title-link").textContent = s.title || s.name;
    c.querySelector(".role").textContent = s.name + (s.role ? " · " + s.role : "");
    c.querySelector(".model").textContent = s.model + " via " + s.provider + (s.port ? " · :" + s.port : "");
    const st = c.querySelector(".state");
    st.textContent = s.state;
    st.className = "state " + s.state;
    c.dataset.state = s.state;
    c.querySelector(".health").replaceChildren(...healthBadges(s));
    c.querySelector(".revision").textContent = s.revision ? "revision " + s.revision : "";
    c.querySelector(".usage").textContent = usageText(s);
    c.querySelector(".error").textContent = s.state !== STATE.ready && s.last_error ? s.last_error : "";
  }
  const ready = list.filter(s => s.state === STATE.ready).length;
  document.getElementById("count").textContent = list.length + " specialists, " + ready + " ready";
}

async function refresh() {
  try { render(await getJson("/api/specialists")); } catch (e) { summary.textContent = "cannot load specialists: " + e.message; }
}

function ended(c, a) {
  a.dataset.done = "1";
  a.dataset.order = String(++finished);
  c.querySelector(".tools").append(copyButton(() => a.dataset.source || a.textContent));
}

function onEvent(r, ev) {
  if (ev.type === "summary") {
    const failed = ev.failed && ev.failed.length ? "; failed: " + ev.failed.join(", ") : "";
    summary.textContent = ev.answered + " of " + ev.specialists + " answered in " + ev.elapsed_ms + " ms" + failed;
    summary.dataset.done = "1";
    return;
  }
  if (!ev.specialist) { summary.textContent = "error: " + (ev.error || "unknown"); return; }
  const c = card(ev.specialist);
  const a = c.querySelector(".answer");
  if (ev.type === "chunk") {
    a.classList.add("streaming");
    if (!r.streams.has(ev.specialist)) r.streams.set(ev.specialist, { view: new MarkdownStream(a), text: "" });
    const s = r.streams.get(ev.specialist);
    s.text += ev.content;
    s.view.push(ev.content);
  } else if (ev.type === "response") {
    const s = r.streams.get(ev.specialist);
    r.streams.delete(ev.specialist);
    if (s) s.view.finish(ev.content); else markdown.render(a, ev.content);
    a.className = "answer md";
    a.dataset.source = ev.content;
    ended(c, a);
  } else if (ev.type === "error") {
    r.streams.delete(ev.specialist);
    a.className = "answer failed";
    a.textContent = ev.code + ": " + ev.error;
    ended(c, a);
  }
}

async function teamChat(message) {
  const r = { ctl: new AbortController(), streams: new Map() };
  round = r;
  send.disabled = true;
  stop.hidden = false;
  finished = 0;
  summary.textContent = "asking the team…";
  delete summary.dataset.done;
  for (const c of cards.children) {
    const a = c.querySelector(".answer");
    a.replaceChildren();
    a.className = "answer md";
    for (const k of ["done", "order", "source"]) delete a.dataset[k];
    c.querySelectorAll(".tools .copy").forEach(b => b.remove());
  }
  try {
    const name = chosenTeam();
    if (name) await teamRun(name, message, r);
    else await postSse("/api/team", { content: message }, ev => onEvent(r, ev), r.ctl.signal);
  } catch (e) {
    if (!r.ctl.signal.aborted) summary.textContent = "request failed: " + e.message;
  } finally {
    // Stopped (or cut off): what streamed stays, marked as stopped.
    for (const [name, s] of r.streams) {
      const c = card(name);
      const a = c.querySelector(".answer");
      s.view.finish(s.text);
      a.className = "answer md stopped";
      a.dataset.source = s.text;
      ended(c, a);
    }
    if (r.ctl.signal.aborted) { summary.textContent = "stopped"; summary.dataset.done = "1"; }
    round = null;
    send.disabled = false;
    stop.hidden = true;
    refresh(); // the round changed every member's usage
  }
}

form.addEventListener("submit", ev => {
  ev.preventDefault();
  const m = input.value.trim();
  if (!m || round) return;
  input.value = "";
  teamChat(m);
});
input.addEventListener("keydown", ev => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); form.requestSubmit(); }
});
document.addEventListener("keydown", ev => {
  if (ev.key === "Escape" && round && !document.querySelector("dialog[open]")) { ev.preventDefault(); round.ctl.abort(); }
});
stop.addEventListener("click", () => { if (round) round.ctl.abort(); input.focus(); });

followEvents(() => { refresh(); if (typeof loadTeams === "function") loadTeams(); });
refresh();
