// WebDriver script body (pages.rs, bench_streaming_a_100kb_answer): counts
// long tasks from now to the end of the next answer; defines window.e2eResult().
const mode = arguments[0];
if (mode === "full") MarkdownStream.prototype.flush = function () { markdown.render(this.el, this.src); this.renders++; };
const long = [];
new PerformanceObserver(l => long.push(...l.getEntries().map(e => e.duration))).observe({ type: "longtask" });
const t0 = performance.now();
let t1 = null;
new MutationObserver(() => { if (t1 === null && document.querySelector(".msg.assistant[data-done]")) t1 = performance.now(); })
  .observe(document.getElementById("log"), { subtree: true, attributes: true, attributeFilter: ["data-done"] });
window.e2eResult = () => ({
  mode, wall_ms: Math.round(t1 - t0), long_tasks: long.length,
  long_task_ms: Math.round(long.reduce((a, b) => a + b, 0)), worst_task_ms: Math.round(Math.max(0, ...long)),
  chars: document.querySelector(".msg.assistant").textContent.length,
});
return true;
