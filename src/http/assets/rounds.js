// A team's run on the team page (teams.d, POST /api/teams/NAME): the team
// selector, then each round as it comes (who was asked, each answer
// streaming in, who was silent and why), the moderator's synthesis last and
// the summary. /t/NAME opens the page with that team chosen.
"use strict";

const teamSelect = document.getElementById("team-select");
const rounds = document.getElementById("rounds");

// The team chosen in the selector ("" is Team Chat: every ready specialist once).
function chosenTeam() { return teamSelect.value; }

async function loadTeams() {
  let list = [];
  try { list = await getJson("/api/teams"); } catch (_) { return; }
  const want = decodeURIComponent((location.pathname.match(/^\/t\/([^/]+)$/) || [])[1] || "") || teamSelect.value;
  const options = [el("option", { value: "" }, "Team Chat: everyone once")];
  for (const t of list) {
    const label = (t.title || t.name) + " (" + t.mode + ", " + t.members.length + " members" + (t.moderator ? ", moderator " + t.moderator : "") + ")";
    options.push(el("option", { value: t.name, "data-state": t.state }, label + (t.state !== STATE.ready ? " · " + t.state : "")));
  }
  teamSelect.replaceChildren(...options);
  if (list.some(t => t.name === want)) teamSelect.value = want;
  teamSelect.dispatchEvent(new Event("change"));
}

function roundTitle(ev) {
  if (ev.part === "route") return "Routing: " + ev.members.join(", ") + " picks who answers";
  if (ev.part === "synthesis") return "Synthesis by " + ev.members.join(", ");
  return "Round " + ev.round + (ev.routed_by ? " (picked by " + ev.routed_by + ")" : "");
}

// One member's place in one round.
function turnOf(run, round, name) {
  const sec = run.sections.get(round);
  let t = sec && sec.querySelector('.turn[data-specialist="' + CSS.escape(name) + '"]');
  if (!t && sec) {
    t = el("div", { class: "turn", "data-specialist": name },
      el("div", { class: "who meta" }, name),
      el("div", { class: "answer md pending", "aria-live": "polite" }, "…"));
    sec.querySelector(".turns").append(t);
  }
  return t;
}

function onTeamEvent(run, ev) {
  if (ev.type === "round_start") {
    const sec = el("section", { class: "round", "data-round": String(ev.round), "data-part": ev.part },
      el("h3", {}, roundTitle(ev)), el("div", { class: "turns" }));
    run.sections.set(ev.round, sec);
    rounds.append(sec);
    for (const m of ev.members) turnOf(run, ev.round, m);
    summary.textContent = roundTitle(ev) + "…";
    return;
  }
  if (ev.type === "summary") {
    const silent = ev.silent && ev.silent.length ? "; silent: " + ev.silent.join(", ") : "; nobody silent";
    const failed = ev.failed ? "; failed: " + ev.failed : "";
    const n = ev.rounds.filter(r => r.part === "answer").length;
    summary.textContent = n + (n === 1 ? " round" : " rounds") + " in " + ev.elapsed_ms + " ms" + silent + failed;
    summary.dataset.done = "1";
    return;
  }
  if (!ev.specialist) { summary.textContent = "error: " + (ev.error || "unknown"); return; }
  const t = turnOf(run, ev.round, ev.specialist);
  if (!t) return;
  const a = t.querySelector(".answer");
  const key = ev.round + "/" + ev.specialist;
  if (ev.type === "chunk") {
    if (!run.streams.has(key)) { a.className = "answer md streaming"; run.streams.set(key, { view: new MarkdownStream(a), text: "" }); }
    const s = run.streams.get(key);
    s.text += ev.content;
    s.view.push(ev.content);
  } else if (ev.type === "response" || ev.type === "synthesis") {
    const s = run.streams.get(key);
    run.streams.delete(key);
    if (s) s.view.finish(ev.content); else markdown.render(a, ev.content);
    a.className = "answer md";
    a.dataset.done = "1";
    t.dataset.state = ev.type === "synthesis" ? "synthesis" : "answered";
    t.append(copyButton(() => ev.content));
  } else if (ev.type === "error") {
    run.streams.delete(key);
    a.className = "answer failed";
    a.textContent = "silent: " + ev.code + ": " + ev.error;
    a.dataset.done = "1";
    t.dataset.state = "silent";
  }
}

// Run the chosen team on `message`; `r` is the page's round (its AbortController).
async function teamRun(name, message, r) {
  const run = { sections: new Map(), streams: new Map() };
  rounds.replaceChildren();
  rounds.hidden = false;
  summary.textContent = "asking " + name + "…";
  delete summary.dataset.done;
  try {
    await postSse("/api/teams/" + encodeURIComponent(name), { content: message }, ev => onTeamEvent(run, ev), r.ctl.signal);
  } finally {
    for (const [, s] of run.streams) s.view.finish(s.text);
  }
}

teamSelect.addEventListener("change", () => {
  const name = chosenTeam();
  document.getElementById("team-label").textContent = name
    ? "Ask the team " + teamSelect.selectedOptions[0].textContent
    : "Team Chat: one message to every ready specialist";
  send.textContent = name ? "Ask " + name : "Send to all";
  rounds.hidden = !name || !rounds.children.length;
  const path = name ? "/t/" + encodeURIComponent(name) : "/";
  if (location.pathname !== path) history.replaceState(null, "", path);
});

loadTeams();
