// WebDriver script body (pages.rs, a_streamed_answer_renders_as_the_whole_text_would):
// arguments[0] seeded random answers, each streamed in random chunks with
// random flushes; returns the first failures (streamed DOM ≠ full render).
let seed = 1;
const rnd = () => { seed = (seed + 0x6D2B79F5) | 0; let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t; return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
const pick = a => a[Math.floor(rnd() * a.length)];
const words = n => Array.from({ length: n }, () => pick(["alpha", "beta", "`code`", "**bold**", "_em_", "[link](http://x.invalid/)", "x<y", "a & b", "1.", "-"])).join(" ");
const blocks = [
  () => words(3 + Math.floor(rnd() * 12)),
  () => words(4) + "\n" + words(5),
  () => "#".repeat(1 + Math.floor(rnd() * 3)) + " " + words(3),
  () => "```" + pick(["", "js", "rust"]) + "\n" + words(3) + "\n\n- not a list\n\n# not a heading\n~~~\n" + words(2) + "\n```",
  () => "~~~~\n```\n\n" + words(2) + "\n\n~~~\n~~~~",
  () => "- " + words(2) + "\n- " + words(3),
  () => "- " + words(2) + "\n\n- " + words(2) + "\n\n  " + words(3),
  () => "1. " + words(2) + "\n2. " + words(2) + "\n   - " + words(2),
  () => "> " + words(4) + "\n> " + words(2),
  () => "| a | b |\n|---|:-:|\n| " + words(1) + " | " + words(1) + " |",
  () => "---",
  () => "<div onclick=\"x()\">" + words(2) + "</div>",
  () => "    indented code\n\n    more code",
  () => words(3) + "  \n" + words(2),
];
function doc() {
  const n = 1 + Math.floor(rnd() * 8);
  let s = "";
  for (let i = 0; i < n; i++) s += (i ? pick(["\n\n", "\n\n\n", "\n \n"]) : "") + pick(blocks)();
  return s + pick(["", "\n", "\n\n"]);
}
function shown(el) {
  return [...el.childNodes].map(n => n.classList && n.classList.contains("md-tail") ? n.innerHTML : (n.outerHTML || n.textContent)).join("");
}
const failures = [];
for (let k = 1; k <= arguments[0]; k++) {
  seed = k * 7919;
  const src = doc();
  const el = document.createElement("div");
  const s = new MarkdownStream(el);
  for (let i = 0; i < src.length;) {
    const n = 1 + Math.floor(rnd() * 24);
    s.src += src.slice(i, i + n);
    i += n;
    if (rnd() < 0.5) s.flush();
  }
  s.flush();
  const full = document.createElement("div");
  markdown.render(full, src);
  if (shown(el) !== full.innerHTML) failures.push({ seed: k, src, streamed: shown(el), full: full.innerHTML });
  if (failures.length >= 3) break;
}
return failures;
