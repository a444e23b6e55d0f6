// The team page: a card per specialist, Team Chat, live reconcile events.
"use strict";

const cards = document.getElementById("cards");
const summary = document.getElementById("summary");
const form = document.getElementById("team-form");
const input = document.getElementById("team-message");
const send = document.getElementById("team-send");
let finished = 0;

function card(name) {
  let c = document.getElementById("card-" + name);
  if (!c) {
    c = el("article", { class: "card", id: "card-" + name, "data-name": name },
      el("h2", { class: "title" }, el("a", { href: "/s/" + name, class: "title-link" })),
      el("div", { class: "role meta" }),
      el("div", { class: "model meta" }),
      el("div", { class: "state" }),
      el("div", { class: "revision meta" }),
      el("div", { class: "error" }),
      el("div", { class: "answer", "aria-live": "polite" }));
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
    c.querySelector(".revision").textContent = s.revision ? "revision " + s.revision : "";
    c.querySelector(".error").textContent = s.state !== STATE.ready && s.last_error ? s.last_error : "";
  }
  const ready = list.filter(s => s.state === STATE.ready).length;
  document.getElementById("count").textContent = list.length + " specialists, " + ready + " ready";
}

async function refresh() {
  try { render(await getJson("/api/specialists")); } catch (e) { summary.textContent = "cannot load specialists: " + e.message; }
}

async function teamChat(message) {
  send.disabled = true;
  finished = 0;
  summary.textContent = "asking the team…";
  for (const c of cards.children) {
    const a = c.querySelector(".answer");
    a.textContent = "";
    a.className = "answer";
    delete a.dataset.done;
    delete a.dataset.order;
  }
  try {
    await postSse("/api/team", { content: message }, ev => {
      if (ev.type === "summary") {
        const failed = ev.failed && ev.failed.length ? "; failed: " + ev.failed.join(", ") : "";
        summary.textContent = ev.answered + " of " + ev.specialists + " answered in " + ev.elapsed_ms + " ms" + failed;
        summary.dataset.done = "1";
        return;
      }
      if (!ev.specialist) { summary.textContent = "error: " + (ev.error || "unknown"); return; }
      const a = card(ev.specialist).querySelector(".answer");
      if (ev.type === "chunk") {
        a.classList.add("streaming");
        a.textContent += ev.content;
      } else if (ev.type === "response") {
        a.className = "answer";
        a.textContent = ev.content;
        a.dataset.done = "1";
        a.dataset.order = String(++finished);
      } else if (ev.type === "error") {
        a.className = "answer failed";
        a.textContent = ev.code + ": " + ev.error;
        a.dataset.done = "1";
        a.dataset.order = String(++finished);
      }
    });
  } finally {
    send.disabled = false;
  }
}

form.addEventListener("submit", ev => {
  ev.preventDefault();
  const m = input.value.trim();
  if (!m) return;
  input.value = "";
  teamChat(m);
});
input.addEventListener("keydown", ev => {
  if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit(); }
});

followEvents(() => refresh());
refresh();
