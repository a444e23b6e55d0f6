// One specialist's chat page: streamed answers, history kept in the page.
"use strict";

const name = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop());
const log = document.getElementById("log");
const form = document.getElementById("chat-form");
const input = document.getElementById("message");
const send = document.getElementById("send");
const history = [];

function show(s) {
  document.title = (s.title || s.name) + " · cadre";
  document.getElementById("title").textContent = s.title || s.name;
  document.getElementById("role").textContent = s.name + (s.role ? " · " + s.role : "");
  document.getElementById("model").textContent = s.model + " via " + s.provider;
  const st = document.getElementById("state");
  st.textContent = s.state;
  st.className = "state " + s.state;
  document.getElementById("revision").textContent = s.revision ? "revision " + s.revision : "";
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

async function ask(message) {
  send.disabled = true;
  log.append(el("div", { class: "msg user" }, message));
  const bubble = el("div", { class: "msg assistant streaming" });
  log.append(bubble);
  let answered = null;
  try {
    await postSse("/api/specialists/" + encodeURIComponent(name) + "/chat", { content: message, history: history.slice() }, ev => {
      if (ev.type === "chunk") bubble.textContent += ev.content;
      else if (ev.type === "response") { bubble.textContent = ev.content; answered = ev.content; }
      else if (ev.type === "error") { bubble.className = "msg error"; bubble.textContent = ev.code + ": " + ev.error; }
    });
  } catch (e) {
    bubble.className = "msg error";
    bubble.textContent = "request failed: " + e.message;
  }
  bubble.classList.remove("streaming");
  if (answered !== null) {
    bubble.dataset.done = "1";
    history.push({ role: "user", content: message }, { role: "assistant", content: answered });
  }
  send.disabled = false;
  input.focus();
}

form.addEventListener("submit", ev => {
  ev.preventDefault();
  const m = input.value.trim();
  if (!m) return;
  input.value = "";
  ask(m);
});
input.addEventListener("keydown", ev => {
  if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit(); }
});

followEvents(ev => { if (!ev.name || ev.name === name || ev.kind === "hello" || ev.kind === "resync") refresh(); });
refresh();
input.focus();
