// Markdown in answers: marked renders, DOMPurify sanitizes, and raw HTML in a
// model's answer is shown as text, never run. MarkdownStream re-renders a
// streaming answer without re-parsing what is already final.
"use strict";

const markdown = (() => {
  const escapeHtml = s => String(s).replace(/[&<>"']/g, c =>
    ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

  const parser = new marked.Marked({
    gfm: true,
    renderer: {
      // An answer is untrusted text: a tag in it is something to read, not markup.
      html({ text, block }) {
        return block ? '<p class="raw-html">' + escapeHtml(text.replace(/\n+$/, "")) + "</p>\n" : escapeHtml(text);
      },
      // Loading an image would let an answer make the browser call any address; show a link instead.
      image({ href, text }) {
        return '<a class="image-link" href="' + escapeHtml(href || "") + '">' + escapeHtml("image: " + (text || href || "")) + "</a>";
      },
    },
  });

  const purify = {
    USE_PROFILES: { html: true },
    FORBID_TAGS: ["style", "form", "img", "picture", "video", "audio", "source", "iframe", "object", "embed"],
    FORBID_ATTR: ["style"],
    RETURN_DOM_FRAGMENT: true,
  };
  // Links in an answer open elsewhere, so following one never ends the chat page.
  DOMPurify.addHook("afterSanitizeAttributes", node => {
    if (node.tagName === "A" && node.hasAttribute("href")) {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer");
    }
  });

  // Markdown source → a sanitized DocumentFragment. The newlines marked puts
  // between blocks are dropped, so an answer's textContent is its text.
  function fragment(src) {
    const f = DOMPurify.sanitize(parser.parse(src), purify);
    for (const n of [...f.childNodes]) if (n.nodeType === Node.TEXT_NODE && !/\S/.test(n.data)) n.remove();
    return f;
  }

  // Replace el's content with src rendered.
  function render(el, src) {
    el.replaceChildren(fragment(src));
  }

  return { fragment, render, escapeHtml };
})();

// Lines that continue the block before a blank line (an indented line, a list
// item, a quote), so no cut is made before them.
const CONTINUES = /^(?:[ \t]|[*+-][ \t]|\d{1,9}[.)][ \t]|>)/;
const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;

// A streaming answer rendered as it grows. The source is cut at block
// boundaries (a blank line outside a code fence, before a line that starts a
// new block): everything before the last cut is rendered once and kept, and
// each render re-parses only the tail. Renders happen at most once per
// animation frame, and a slow render spaces out the next ones, so a long
// answer costs about O(n) in all instead of O(n) per chunk. `finish` renders
// the whole answer once, exactly as a full parse would.
class MarkdownStream {
  constructor(el) {
    this.el = el;
    this.src = "";
    this.frozen = 0;     // source before this offset is rendered and kept
    this.cut = 0;        // the last block boundary found
    this.scanned = 0;    // lines before this offset are scanned
    this.fence = null;   // the open code fence ("```", "~~~~", …) or null
    this.blank = false;  // the last scanned line was blank
    this.tail = document.createElement("div");
    this.tail.className = "md-tail";
    el.replaceChildren(this.tail);
    this.waiting = false;
    this.notBefore = 0;
    this.renders = 0;
  }

  push(text) {
    this.src += text;
    this.schedule();
  }

  schedule() {
    if (this.waiting) return;
    this.waiting = true;
    const wait = Math.max(0, this.notBefore - performance.now());
    const go = () => requestAnimationFrame(() => { this.waiting = false; if (this.el) this.flush(); });
    if (wait > 0) setTimeout(go, wait); else go();
  }

  // Render what has arrived (tests and benchmarks call it directly).
  flush() {
    const started = performance.now();
    this.scan();
    if (this.cut > this.frozen) {
      this.el.insertBefore(markdown.fragment(this.src.slice(this.frozen, this.cut)), this.tail);
      this.frozen = this.cut;
    }
    this.tail.replaceChildren(markdown.fragment(this.src.slice(this.frozen)));
    this.renders += 1;
    const took = performance.now() - started;
    this.notBefore = performance.now() + 2 * took;
  }

  // Scan the complete lines that arrived since the last scan for block boundaries.
  scan() {
    const s = this.src;
    let i = this.scanned;
    for (let nl = s.indexOf("\n", i); nl >= 0; nl = s.indexOf("\n", i)) {
      this.line(s.slice(i, nl), i);
      i = nl + 1;
    }
    this.scanned = i;
  }

  line(text, start) {
    const blank = !/\S/.test(text);
    const f = FENCE.exec(text);
    if (this.fence) {
      if (f && f[1][0] === this.fence[0] && f[1].length >= this.fence.length && !/\S/.test(f[2])) this.fence = null;
      this.blank = false;
      return;
    }
    if (!blank && this.blank && !CONTINUES.test(text)) this.cut = start;
    if (f && !(f[1][0] === "`" && f[2].includes("`"))) this.fence = f[1];
    this.blank = blank;
  }

  // The answer is complete (`full` is its final text when known): one exact render.
  finish(full) {
    if (!this.el) return;
    if (typeof full === "string") this.src = full;
    markdown.render(this.el, this.src);
    this.el = null;
  }
}
