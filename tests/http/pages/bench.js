// WebDriver script body (pages.rs, bench_streaming_a_100kb_answer): 100 KB of
// arguments[0] repeated, fed in 4-character chunks, a render every 64 chunks;
// defines window.benchRun(mode), mode "full" (re-render everything) or "stream".
const unit = arguments[0];
let src = "";
while (src.length < 100 * 1024) src += unit;
const chunks = [];
for (let i = 0; i < src.length; i += 4) chunks.push(src.slice(i, i + 4));
const every = 64;
function run(mode) {
  const el = document.createElement("div");
  document.body.append(el);
  const s = new MarkdownStream(el);
  let text = "", worst = 0, renders = 0;
  const t0 = performance.now();
  for (let i = 0; i < chunks.length; i++) {
    text += chunks[i];
    s.src += chunks[i];
    if (i % every === every - 1) {
      const f0 = performance.now();
      if (mode === "stream") s.flush(); else markdown.render(el, text);
      worst = Math.max(worst, performance.now() - f0);
      renders++;
    }
  }
  const f0 = performance.now();
  s.finish(text);
  const last = performance.now() - f0;
  const total = performance.now() - t0;
  const same = el.innerHTML === (() => { const r = document.createElement("div"); markdown.render(r, src); return r.innerHTML; })();
  el.remove();
  return { mode, total_ms: +total.toFixed(1), worst_render_ms: +worst.toFixed(2), final_render_ms: +last.toFixed(2), renders, same_as_full_render: same };
}
window.benchRun = mode => Object.assign(run(mode), { bytes: src.length, chunks: chunks.length });
