// One specialist's chat page: answers rendered as Markdown while they stream,
// a stop button (and Escape), the conversation kept in this browser's
// localStorage per specialist, the system prompt one click away.
"use strict";

const name = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop());
const log = document.getElementById("log");
const form = document.getElementById("chat-form");
const input = document.getElementById("message");
const send = document.getElementById("send");
const stop = document.getElementById("stop");
const clear = document.getElementById("clear");
const notice = document.getElementById("notice");
const storeKey = "cadre.chat." + name;

// The conversation: {role: "user" | "assistant" | "error", content, stopped?}.
let turns = load();
// The answer in progress: {ctl: AbortController, epoch}.
let running = null;
// Bumped by Clear, so an answer still ending after it does not write to the new conversation.
let epoch = 0;

function load() {
  try {
    const v = JSON.parse(localStorage.getItem(storeKey) || "null");
    if (v && Array.isArray(v.turns)) {
      return v.turns.filter(t => t && ["user", "assistant", "error"].includes(t.role) && typeof t.content === "string");
    }
  } catch (_) {}
  return [];
}

function save() {
  try {
    if (turns.length) localStorage.setItem(storeKey, JSON.stringify({ v: 1, turns }));
    else localStorage.removeItem(storeKey);
    notice.textContent = "";
  } catch (e) {
    notice.textContent = "this conversation could not be kept in the browser (" + e.name + "); it stays until the page is closed";
  }
}

// What the model is sent: each question with the answer it got (failed questions are left out).
function sentHistory() {
  const h = [];
  for (let i = 0; i + 1 < turns.length; i++) {
    if (turns[i].role === "user" && turns[i + 1].role === "assistant") {
      h.push({ role: "user", content: turns[i].content }, { role: "assistant", content: turns[i + 1].content });
      i++;
    }
  }
  return h;
}

// An assistant answer: the bubble, and under it its tools (copy, stopped).
function answerView() {
  const msg = el("div", { class: "msg assistant" });
  const body = el("div", { class: "md" });
  msg.append(body);
  const tools = el("div", { class: "tools" });
  const turn = el("div", { class: "turn assistant" }, msg, tools);
  return { turn, msg, body, tools };
}

function finishAnswer(view, text, stopped) {
  view.msg.dataset.done = "1";
  view.msg.classList.remove("streaming");
  if (stopped) {
    view.msg.classList.add("stopped");
    view.tools.append(el("span", { class: "sub stopped-note" }, "stopped"));
  }
  if (text) view.tools.prepend(copyButton(() => text));
}

function showTurn(t) {
  if (t.role === "user") return log.append(el("div", { class: "msg user" }, t.content));
  if (t.role === "error") return log.append(el("div", { class: "msg error" }, t.content));
  const v = answerView();
  markdown.render(v.body, t.content);
  finishAnswer(v, t.content, t.stopped);
  log.append(v.turn);
}

function showAll() {
  log.replaceChildren();
  turns.forEach(showTurn);
}

function show(s) {
  document.title = (s.title || s.name) + " · cadre";
  document.getElementById("title").textContent = s.title || s.name;
  document.getElementById("role").textContent = s.name + (s.role ? " · " + s.role : "");
  document.getElementById("model").textContent = s.model + " via " + s.provider;
  const st = document.getElementById("state");
  st.textContent = s.state;
  st.className = "state " + s.state;
  document.getElementById("health").replaceChildren(...healthBadges(s));
  document.getElementById("revision").textContent = s.revision ? "revision " + s.revision : "";
  document.getElementById("usage").textContent = usageText(s);
  document.getElementById("problem").textContent = s.state !== STATE.ready && s.last_error ? s.last_error : "";
}

async function refresh() {
  try {
    show(await getJson("/api/specialists/" + encodeURIComponent(name)));
  } catch (e) {
    const st = document.getElementById("state");
    st.textContent = "removed";
    st.className = "state failed";
    document.getElementById("problem").textContent = name + " is no longer declared";
  }
}

function busy(on) {
  send.disabled = on;
  stop.hidden = !on;
}

async function ask(message) {
  const sent = { content: message, history: sentHistory() };
  const mine = { ctl: new AbortController(), epoch };
  running = mine;
  busy(true);
  turns.push({ role: "user", content: message });
  save();
  log.append(el("div", { class: "msg user" }, message));
  const view = answerView();
  view.msg.classList.add("streaming");
  log.append(view.turn);
  const stream = new MarkdownStream(view.body);
  let text = "";
  let answered = null;
  let failed = null;
  try {
    await postSse("/api/specialists/" + encodeURIComponent(name) + "/chat", sent, ev => {
      if (ev.type === "chunk") { text += ev.content; stream.push(ev.content); }
      else if (ev.type === "response") answered = ev.content;
      else if (ev.type === "error") failed = ev.code + ": " + ev.error;
    }, mine.ctl.signal);
  } catch (e) {
    if (!mine.ctl.signal.aborted) failed = "request failed: " + e.message;
  }
  if (running === mine) { running = null; busy(false); }
  if (mine.epoch !== epoch) return;
  if (answered !== null) {
    stream.finish(answered);
    finishAnswer(view, answered, false);
    turns.push({ role: "assistant", content: answered });
  } else if (mine.ctl.signal.aborted && !failed) {
    stream.finish(text);
    finishAnswer(view, text, true);
    if (text) turns.push({ role: "assistant", content: text, stopped: true });
  } else {
    const msg = failed || "the answer ended before it was complete";
    view.turn.replaceWith(el("div", { class: "msg error" }, msg));
    turns.push({ role: "error", content: msg });
  }
  save();
  input.focus();
  refresh(); // the answer changed the usage shown
}

function stopAnswer() {
  if (running) running.ctl.abort();
}

form.addEventListener("submit", ev => {
  ev.preventDefault();
  const m = input.value.trim();
  if (!m || running) return;
  input.value = "";
  ask(m);
});
input.addEventListener("keydown", ev => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); form.requestSubmit(); }
});
// Escape stops an answer, unless it is closing the prompt dialog.
document.addEventListener("keydown", ev => {
  if (ev.key === "Escape" && running && !document.querySelector("dialog[open]")) { ev.preventDefault(); stopAnswer(); }
});
stop.addEventListener("click", () => { stopAnswer(); input.focus(); });
clear.addEventListener("click", () => {
  stopAnswer();
  epoch++;
  turns = [];
  save();
  showAll();
  input.focus();
});
document.getElementById("show-prompt").addEventListener("click", () => showPrompt(name));
// Another tab of the same specialist changed the conversation.
window.addEventListener("storage", ev => {
  if (ev.key === storeKey && !running) { turns = load(); showAll(); }
});

followEvents(ev => { if (!ev.name || ev.name === name || ev.kind === "hello" || ev.kind === "resync") refresh(); });
showAll();
refresh();
input.focus();
