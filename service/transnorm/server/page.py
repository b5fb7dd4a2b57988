"""``GET /``: a small page to paste or drop a document (text, or an HTML page) and see the English
result."""

from __future__ import annotations

import re

from flask import Blueprint, Response

from .declare import endpoint
from .headers import csp

page = Blueprint("page", __name__)


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>transnorm</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
[hidden]{display:none!important}
body{font:15px/1.5 system-ui,sans-serif;max-width:64rem;margin:1.5rem auto;padding:0 1rem;color:#222}
textarea{width:100%;height:12rem;font:13px/1.4 ui-monospace,monospace;box-sizing:border-box}
textarea.drop{outline:3px dashed #4a7bd0}
#out{white-space:pre-wrap;border:1px solid #ddd;padding:1rem;min-height:4rem;margin-top:1rem}
mark.tr{background:#e6f0ff;border-bottom:2px solid #4a7bd0;cursor:help}
mark.un{background:#fff3cd;border-bottom:2px solid #c99a00;cursor:help}
#removed li{color:#777}
.bar{display:flex;gap:.6rem;align-items:center;margin:.5rem 0;flex-wrap:wrap}
#status{color:#555}
</style></head><body>
<h1>transnorm</h1>
<p>Paste or drop a document, or drop an HTML page (.html: it comes back as the same page, its foreign
passages translated in place). Foreign passages are translated into English
(<mark class="tr">highlighted</mark>: hover for the source and its language); page chrome,
repeated titles, comment forms and machine-translation notices are removed and listed apart.
API: <a href="/docs">/docs</a>.</p>
<textarea id="input" placeholder="Paste a document here, or drop a .txt or .html file"></textarea>
<div class="bar">
  <button id="go">Normalize</button>
  <label>chrome <select id="chrome"><option>remove</option><option>keep</option></select></label>
  <label>API key <input id="key" type="password" size="16" autocomplete="off"></label>
  <span id="status"></span>
</div>
<div class="bar" id="downloads" hidden>
  Download: <a id="dl-json" download="transnorm.json">JSON</a>
  <a id="dl-text" download="transnorm.txt">text</a>
  <a id="dl-html" download="transnorm.html" href="#">HTML</a>
</div>
<div id="out" aria-live="polite"></div>
<section id="removed-section" hidden><h2>Removed</h2><ul id="removed"></ul></section>
<section id="notices-section" hidden><h2>Upstream machine translation</h2><ul id="notices"></ul></section>
<section id="warnings-section" hidden><h2>Warnings</h2><ul id="warnings"></ul></section>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
let last = null;  // what was normalized: {body, type}

function headers(type) {
  const h = {"Content-Type": type};
  if ($("key").value) h["X-API-Key"] = $("key").value;
  return h;
}

function blobUrl(text, type) { return URL.createObjectURL(new Blob([text], {type})); }

function show(doc) {
  const out = $("out");
  out.replaceChildren();
  const removed = $("removed");
  removed.replaceChildren();
  const page = doc.source.format === "html";
  for (const span of doc.spans) {
    if (span.attribute) continue;  // an alt or title of a page: not part of its text
    if (span.action === "removed") {
      const li = document.createElement("li");
      li.className = "rm";
      li.dataset.reason = span.reason;
      // (a page's source is HTML: its text is what a reader saw)
      li.textContent = span.reason + ": " + (page ? span.text : span.source_text).trim();
      removed.appendChild(li);
    } else if (span.action === "translated" || span.action === "untranslated") {
      const mark = document.createElement("mark");
      mark.className = span.action === "translated" ? "tr" : "un";
      mark.lang = span.action === "translated" ? "en-x-mtfrom-" + span.lang : span.lang;
      mark.dataset.sourceLang = span.lang;
      mark.title = span.lang + (span.action === "translated" ? " → en: " : " (not translated: " +
        span.reason + "): ") + span.source_text;
      mark.textContent = span.text;
      out.appendChild(mark);
    } else {
      out.appendChild(document.createTextNode(span.text));
    }
  }
  $("removed-section").hidden = removed.children.length === 0;
  const notices = $("notices");
  notices.replaceChildren(...doc.upstream_translation.map((n) => {
    const li = document.createElement("li");
    li.textContent = n.service + ": " + n.evidence;
    return li;
  }));
  $("notices-section").hidden = doc.upstream_translation.length === 0;
  $("warnings").replaceChildren(...doc.warnings.map((w) => {
    const li = document.createElement("li");
    li.textContent = w;
    return li;
  }));
  $("warnings-section").hidden = doc.warnings.length === 0;
  $("dl-json").href = blobUrl(JSON.stringify(doc, null, 2), "application/json");
  $("dl-text").href = blobUrl(doc.text, "text/plain");
  $("downloads").hidden = false;
  const counts = doc.stats.actions;
  $("status").textContent = (doc.complete ? "complete" : "incomplete") + " · " +
    Object.entries(counts).filter(([, n]) => n).map(([a, n]) => n + " " + a).join(", ");
}

function post(what, format) {
  const query = new URLSearchParams({chrome: $("chrome").value});
  if (format) query.set("format", format);
  return fetch("/v1/normalize?" + query, {method: "POST", headers: headers(what.type), body: what.body});
}

async function send(what) {
  $("status").textContent = "working…";
  try {
    const res = await post(what);
    const body = await res.json();
    if (!res.ok) { $("status").textContent = body.title + ": " + body.detail; return; }
    last = what;
    show(body);
  } catch (err) {
    $("status").textContent = "request failed: " + err;
  }
}

// Typed or pasted text is a document (an HTML page if it starts like one); a dropped .html file is a
// page, sent as its bytes so that the server reads its charset.
function normalize() {
  send({body: JSON.stringify({text: $("input").value}), type: "application/json"});
}

$("dl-html").addEventListener("click", async (event) => {
  event.preventDefault();
  if (last === null) return;
  const res = await post(last, "html");
  const a = document.createElement("a");
  a.href = URL.createObjectURL(await res.blob());
  a.download = "transnorm.html";
  a.click();
});
$("go").addEventListener("click", normalize);
$("input").addEventListener("paste", () => setTimeout(normalize, 0));
const area = $("input");
area.addEventListener("dragover", (e) => { e.preventDefault(); area.classList.add("drop"); });
area.addEventListener("dragleave", () => area.classList.remove("drop"));
area.addEventListener("drop", async (e) => {
  e.preventDefault();
  area.classList.remove("drop");
  const file = e.dataTransfer.files[0];
  if (!file) return;
  area.value = await file.text();
  if (/[.]html?$/i.test(file.name) || file.type === "text/html") {
    send({body: await file.arrayBuffer(), type: "text/html"});
  } else {
    normalize();
  }
});
</script>
</body></html>
"""


_INLINE_STYLE = re.search(r"<style>(.*?)</style>", PAGE, re.S).group(1)  # type: ignore[union-attr]
_INLINE_SCRIPT = re.search(r"<script>(.*?)</script>", PAGE, re.S).group(1)  # type: ignore[union-attr]
#: The page runs its own inline script and style, calls this origin, and nothing else.
PAGE_CSP = csp(style=_INLINE_STYLE, script=_INLINE_SCRIPT, connect=True, images=True)


@page.get("/")
@endpoint("A page to paste or drop a document", responses={200: ("HTML", {"text/html": {"type": "string"}})})
def index():  # type: ignore[no-untyped-def]
    response = Response(PAGE, content_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response
