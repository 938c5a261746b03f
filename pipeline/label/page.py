"""The labelling page: one HTML document, its data embedded as JSON, drawn by a small script.

Repository text is hostile input.  It never reaches the HTML as markup: the cards travel as
JSON inside ``<script type="application/json">`` with ``<``, ``>``, ``&`` and the line
separators escaped, and the script puts every string into the page with ``textContent``;
links are made only for ``http(s)`` homepages.  The server's Content-Security-Policy allows
only this page's own script and style (by nonce).
"""

from __future__ import annotations

import html
import json
from typing import Any

_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
                 "\u2029": "\\u2029"}


def embed_json(data: Any) -> str:
    """JSON safe to place inside a ``<script>`` element."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    return "".join(_JSON_ESCAPES.get(ch, ch) for ch in text)


STYLE = """
body { font: 15px/1.4 system-ui, sans-serif; margin: 1.5em auto; max-width: 60em; color: #222; }
#progress { font-weight: 600; margin-bottom: .6em; }
.card { border: 1px solid #bbb; border-radius: 6px; padding: 1em 1.2em; }
.card h2 { margin: 0 0 .2em 0; font-size: 1.3em; }
.reason { color: #a33; font-size: .9em; }
.muted { color: #666; }
.topics span { background: #eef; border-radius: 3px; padding: 0 .3em; margin-right: .3em; }
.cats { display: flex; gap: .4em; flex-wrap: wrap; margin: .8em 0; }
.cats button { padding: .3em .7em; border: 1px solid #888; background: #fafafa; border-radius: 4px; }
.cats button.chosen { background: #2a6; color: white; border-color: #2a6; }
.cats button.suggested { outline: 2px dashed #36c; }
table { border-collapse: collapse; font-size: .9em; }
td, th { border-bottom: 1px solid #ddd; padding: .15em .5em; text-align: left; vertical-align: top; }
textarea { width: 100%; }
#status { min-height: 1.2em; font-size: .9em; }
kbd { border: 1px solid #aaa; border-radius: 3px; padding: 0 .25em; font-size: .85em; }
"""

SCRIPT = r"""
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const cards = D.cards, labels = D.labels;
let at = cards.findIndex(c => !(c.repo in labels));
if (at < 0) at = 0;
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function progress() {
  const done = cards.filter(c => c.repo in labels).length;
  document.getElementById("progress").textContent =
    "rater " + D.rater + " \u2014 done " + done + " / to do " + (cards.length - done) +
    " (card " + (at + 1) + " of " + cards.length + ")";
}
function dockerTable(c) {
  const box = el("div");
  const files = c.docker.dockerfiles;
  box.appendChild(el("h3", "Dockerfiles (" + files.length + ")"));
  if (files.length) {
    const t = el("table");
    const head = el("tr");
    ["file", "base images (type)", "RUN commands by category"].forEach(h => head.appendChild(el("th", h)));
    t.appendChild(head);
    files.forEach(f => {
      const tr = el("tr");
      tr.appendChild(el("td", f.path));
      tr.appendChild(el("td", f.bases.map(b => b.image + (b.type ? " (" + b.type + ")" : "")).join(", ")));
      tr.appendChild(el("td", Object.keys(f.run).sort().map(k => k + " " + f.run[k]).join(", ")));
      t.appendChild(tr);
    });
    box.appendChild(t);
  }
  const comp = c.docker.compose;
  if (comp.length) {
    box.appendChild(el("h3", "Compose services (" + comp.length + ")"));
    const ul = el("ul");
    comp.forEach(s => ul.appendChild(el("li", s.service + (s.image ? ": " + s.image : "") + " \u2014 " + s.path)));
    box.appendChild(ul);
  }
  return box;
}
function render() {
  const c = cards[at], mine = labels[c.repo];
  const card = document.getElementById("card");
  card.replaceChildren();
  card.appendChild(el("h2", c.repo, "repo"));
  if (c.reason) card.appendChild(el("div", c.reason, "reason"));
  card.appendChild(el("p", c.description || "(no description)", "description"));
  const topics = el("div", null, "topics");
  c.topics.forEach(t => topics.appendChild(el("span", t)));
  if (c.topics.length) card.appendChild(topics);
  if (c.homepage) {
    const p = el("p", "homepage: ", "muted");
    if (/^https?:\/\//i.test(c.homepage)) {
      const a = el("a", c.homepage); a.href = c.homepage; a.rel = "noopener noreferrer"; a.target = "_blank";
      p.appendChild(a);
    } else { p.appendChild(el("span", c.homepage)); }
    card.appendChild(p);
  }
  card.appendChild(el("div", "model: " + (c.suggestion_text || "no suggestion"), "suggestion"));
  if (c.rules.length) card.appendChild(el("div", "rules fired: " + c.rules.join("; "), "muted rules"));
  const cats = el("div", null, "cats");
  const suggested = new Set(c.suggestion.map(s => s.category));
  D.categories.forEach((name, i) => {
    const b = el("button", (i + 1) + " " + name);
    b.type = "button"; b.dataset.category = name;
    if (mine && mine.category === name) b.classList.add("chosen");
    if (suggested.has(name)) b.classList.add("suggested");
    b.addEventListener("click", () => choose(name));
    cats.appendChild(b);
  });
  card.appendChild(cats);
  const note = document.getElementById("note");
  note.value = mine ? mine.note : "";
  card.appendChild(dockerTable(c));
  progress();
}
async function choose(category) {
  const c = cards[at];
  const note = document.getElementById("note").value;
  const status = document.getElementById("status");
  status.textContent = "saving\u2026";
  let r;
  try {
    r = await fetch("/api/label", {method: "POST", headers: {"Content-Type": "application/json",
      "X-Mldock-Token": D.token}, body: JSON.stringify({repo: c.repo, category: category, note: note})});
  } catch (e) { status.textContent = "not saved: " + e; return false; }
  if (!r.ok) { status.textContent = "not saved: " + r.status + " " + (await r.text()); return false; }
  labels[c.repo] = {category: category, note: note};
  status.textContent = "saved " + c.repo + " as " + category;
  if (cards[at] === c && at < cards.length - 1) at += 1;
  render();
  return true;
}
const UNSAVED = "note not saved: this card has no label yet; choose a category (1\u20136) and the note is saved with it, or clear the note";
function unsavedNote() {
  const mine = labels[cards[at].repo];
  const text = document.getElementById("note").value.trim();
  return text !== "" && !(mine && mine.note.trim() === text);
}
function move(step) {
  const from = at, mine = labels[cards[at].repo];
  const go = () => { at = Math.max(0, Math.min(cards.length - 1, from + step)); render(); };
  if (!unsavedNote()) { go(); return; }
  if (!mine) { document.getElementById("status").textContent = UNSAVED; return; }
  // an edited note on a labelled card is saved with its label before moving on
  choose(mine.category).then(ok => { if (ok) go(); });
}
document.addEventListener("keydown", ev => {
  const note = document.getElementById("note");
  if (document.activeElement === note) {
    if (ev.key === "Escape") note.blur();
    if (ev.key === "Enter" && !ev.shiftKey) {
      ev.preventDefault(); note.blur();
      const mine = labels[cards[at].repo];
      if (mine) { const keep = at; choose(mine.category).then(() => { at = keep; render(); }); }
      else if (unsavedNote()) document.getElementById("status").textContent = UNSAVED;
    }
    return;
  }
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const k = Number(ev.key);
  if (Number.isInteger(k) && k >= 1 && k <= D.categories.length) { ev.preventDefault(); choose(D.categories[k - 1]); }
  else if (ev.key === "n") { ev.preventDefault(); move(1); }
  else if (ev.key === "p") { ev.preventDefault(); move(-1); }
  else if (ev.key === "/") { ev.preventDefault(); note.focus(); }
});
render();
"""


def render_page(cards: list[dict[str, Any]], labels: dict[str, dict[str, str]],
                categories: tuple[str, ...], rater: str, token: str, nonce: str) -> str:
    """The whole page: ``labels`` are the rater's saved ones (repo -> category, note)."""
    data = {"cards": cards, "labels": labels, "categories": list(categories), "rater": rater,
            "token": token}
    keys = " ".join(f"<kbd>{i + 1}</kbd> {html.escape(c)}" for i, c in enumerate(categories))
    n = html.escape(nonce, quote=True)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>mldock label \u2014 {html.escape(rater)}</title>
<style nonce="{n}">{STYLE}</style></head>
<body>
<div id="progress"></div>
<p><label for="note">note (<kbd>/</kbd> to write, <kbd>Enter</kbd> saves it with the chosen
category, <kbd>Esc</kbd> leaves):</label><br><textarea id="note" rows="2"></textarea></p>
<div id="status" role="status"></div>
<div id="card" class="card"></div>
<p class="muted">keys: {keys}; <kbd>n</kbd> next, <kbd>p</kbd> previous. A choice is saved at
once and moves to the next card.</p>
<script type="application/json" id="data">{embed_json(data)}</script>
<script nonce="{n}">{SCRIPT}</script>
</body></html>
"""
