"""One self-contained HTML page (no network, no external script) showing what a
language model computes on a text: each token coloured by the activation of one cell
(tanh(c) or h) of one layer, chosen with pickers; the top-5 next-token predictions of
the token under the pointer; and a search for the cells whose activation follows a
pattern given as a regular expression over the text (inside quotes, inside
parentheses, position in the line, ...), by Pearson correlation with the 0/1 sequence
"this character is inside a match" (Karpathy et al. 2015; Chen 2017).

``page.html#layer=0&quantity=h&cell=89`` opens on that cell. The page tests itself
when opened as ``page.html#selftest``: it records the colour of
the first tokens, changes the cell picker as a user would (a change event), records
them again, and writes both and every error it saw into ``<pre id="selftest">``.
"""
import base64
import html
import json

import numpy as np

TOP_K = 5


def page_data(trace, decode, title, gates_png=None):
    """The JSON the page's script reads: tokens, per-layer activations (2 decimals),
    the top-5 predictions after each token."""
    tokens = [decode(int(i)) for i in trace.ids]
    top = np.argsort(-trace.probs, axis=1)[:, :TOP_K]
    predictions = [[[decode(int(j)), round(float(trace.probs[t, j]), 4)] for j in row]
                   for t, row in enumerate(top)]
    layers = []
    for layer in trace.layers:
        quantities = {"h": layer.h}
        if layer.cell is not None:
            quantities = {"tanh(c)": layer.cell, **quantities}
        layers.append({"name": layer.name, "units": int(layer.h.shape[1]),
                       "values": {k: np.round(v.T, 2).tolist() for k, v in quantities.items()}})
    data = {"title": title, "tokens": tokens, "predictions": predictions, "layers": layers}
    if gates_png is not None:
        data["gates_png"] = base64.b64encode(gates_png).decode("ascii")
    return data


def render_page(data):
    """The HTML text of the page for ``page_data``'s dict."""
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return (TEMPLATE.replace("__TITLE__", html.escape(data["title"]))
            .replace("__DATA__", payload))


TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>__TITLE__</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
#controls { display: flex; gap: 1.2em; flex-wrap: wrap; align-items: end; margin-bottom: 1em; }
label { font-size: 0.85em; display: flex; flex-direction: column; gap: 0.2em; }
#text { font-family: ui-monospace, monospace; white-space: pre-wrap; line-height: 1.5;
        border: 1px solid #ccc; padding: 0.8em; max-height: 60vh; overflow: auto; }
#text span { border-radius: 2px; }
#predictions { font-family: ui-monospace, monospace; min-height: 7em; margin-top: 0.8em; }
#predictions table { border-collapse: collapse; }
#predictions td { padding: 0 0.6em; }
#matches li { cursor: pointer; }
#legend { display: inline-block; height: 10px; width: 160px; background: linear-gradient(to right, rgb(59,76,192), #fff, rgb(180,4,38)); }
</style>
</head>
<body>
<h1>__TITLE__</h1>
<div id="controls">
  <label>layer <select id="layer"></select></label>
  <label>quantity <select id="quantity"></select></label>
  <label>cell <input id="cell" type="number" min="0" value="0" style="width:6em"></label>
  <label>colour <span style="display:flex;gap:0.4em;align-items:center">-1 <span id="legend"></span> +1</span></label>
  <label>pattern (regex) <input id="pattern" value="&quot;[^&quot;]*&quot;" style="width:14em"></label>
  <button id="search">cells most correlated</button>
</div>
<div id="text"></div>
<div id="predictions">Point at a character: the model's top-5 guesses for the next one.</div>
<ol id="matches"></ol>
<div id="gates"></div>
<pre id="selftest"></pre>
<script id="data" type="application/json">__DATA__</script>
<script>
"use strict";
const errors = [];
window.addEventListener("error", (e) => errors.push(String(e.message)));
const data = JSON.parse(document.getElementById("data").textContent);
const $ = (id) => document.getElementById(id);
const spans = [];

function colour(v) {  // -1 blue, 0 white, +1 red
  const a = Math.max(-1, Math.min(1, v));
  const mix = (c) => Math.round(255 + (c - 255) * Math.abs(a));
  return a >= 0 ? `rgb(${mix(180)},${mix(4)},${mix(38)})` : `rgb(${mix(59)},${mix(76)},${mix(192)})`;
}

function current() {
  const layer = data.layers[Number($("layer").value)];
  const values = layer.values[$("quantity").value];
  const cell = Math.max(0, Math.min(layer.units - 1, Number($("cell").value) || 0));
  return values[cell];
}

function paint() {
  const row = current();
  spans.forEach((s, t) => { s.style.background = colour(row[t]); s.title = `${row[t]}`; });
}

function showPredictions(t) {
  const rows = data.predictions[t].map(([tok, p]) =>
    `<tr><td>${JSON.stringify(tok).replace(/</g, "&lt;")}</td><td>${(100 * p).toFixed(1)}%</td></tr>`);
  $("predictions").innerHTML = `after ${JSON.stringify(data.tokens[t]).replace(/</g, "&lt;")}:<table>${rows.join("")}</table>`;
}

function quantities() {
  const layer = data.layers[Number($("layer").value)];
  $("quantity").innerHTML = Object.keys(layer.values).map((q) => `<option>${q}</option>`).join("");
  $("cell").max = layer.units - 1;
}

function correlation(a, b) {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) { ma += a[i]; mb += b[i]; }
  ma /= n; mb /= n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma, db = b[i] - mb;
    sab += da * db; saa += da * da; sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

function search() {
  let regex;
  try { regex = new RegExp($("pattern").value, "g"); }
  catch (e) { $("matches").innerHTML = `<li>not a regular expression: ${e.message}</li>`; return; }
  const starts = [];
  let text = "";
  data.tokens.forEach((tok) => { starts.push(text.length); text += tok; });
  const inside = new Array(data.tokens.length).fill(0);
  for (const m of text.matchAll(regex)) {
    const end = m.index + Math.max(m[0].length, 1);
    starts.forEach((s, t) => { if (s >= m.index && s < end) inside[t] = 1; });
  }
  const found = [];
  data.layers.forEach((layer, l) => Object.entries(layer.values).forEach(([q, rows]) =>
    rows.forEach((row, cell) => found.push({ l, q, cell, r: correlation(row, inside) }))));
  found.sort((x, y) => Math.abs(y.r) - Math.abs(x.r));
  $("matches").innerHTML = found.slice(0, 10).map((f) =>
    `<li data-l="${f.l}" data-q="${f.q}" data-cell="${f.cell}">${data.layers[f.l].name} ${f.q} cell ${f.cell}: r = ${f.r.toFixed(3)}</li>`).join("");
}

function select(l, q, cell) {
  $("layer").value = String(l); quantities();
  $("quantity").value = q; $("cell").value = String(cell); paint();
}

function build() {
  $("layer").innerHTML = data.layers.map((l, i) => `<option value="${i}">${l.name}</option>`).join("");
  quantities();
  const box = $("text");
  data.tokens.forEach((tok, t) => {
    const s = document.createElement("span");
    s.textContent = tok;
    s.addEventListener("mouseenter", () => showPredictions(t));
    box.appendChild(s);
    spans.push(s);
  });
  $("layer").addEventListener("change", () => { quantities(); paint(); });
  $("quantity").addEventListener("change", paint);
  $("cell").addEventListener("change", paint);
  $("cell").addEventListener("input", paint);
  $("search").addEventListener("click", search);
  $("matches").addEventListener("click", (e) => {
    const li = e.target.closest("li");
    if (li && li.dataset.l !== undefined) select(Number(li.dataset.l), li.dataset.q, Number(li.dataset.cell));
  });
  if (data.gates_png) $("gates").innerHTML = `<h2>Gate saturation</h2><img alt="gate saturation" src="data:image/png;base64,${data.gates_png}">`;
  paint();
}

function selftest() {
  const before = spans.slice(0, 20).map((s) => s.style.background);
  $("cell").value = String(Math.min(1, data.layers[0].units - 1));
  $("cell").dispatchEvent(new Event("change"));
  const after = spans.slice(0, 20).map((s) => s.style.background);
  search();
  $("selftest").textContent = JSON.stringify({ before, after, matches: $("matches").children.length, errors });
}

try { build(); } catch (e) { errors.push(String(e)); }
if (location.hash === "#selftest") selftest();
else if (location.hash.length > 1) {  // #layer=0&quantity=h&cell=89 opens on that cell
  const view = new URLSearchParams(location.hash.slice(1));
  select(Number(view.get("layer") || 0), view.get("quantity") || $("quantity").value,
         Number(view.get("cell") || 0));
}
</script>
</body>
</html>
"""
