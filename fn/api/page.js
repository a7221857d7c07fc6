// The page's behaviour (fn/page.py inlines it after LABELS and AGES): post the form as JSON with
// explain=true, show the answer, then draw the price against days_used from one batch request.
const form = document.getElementById("device"), out = document.getElementById("answer");
const url = location.pathname.replace(/\/?$/, "/");  // behind a gateway too: /function/device-price/
document.getElementById("card").href = url + "model";
const money = v => v.toLocaleString(undefined, {minimumFractionDigits: 2, maximumFractionDigits: 2});
const text = (tag, value, attrs) => { const e = document.createElement(tag); e.textContent = value;
  Object.assign(e, attrs || {}); return e; };
function record() {
  const r = {};
  for (const el of form.elements) {
    if (!el.name || el.value === "") continue;
    r[el.name] = el.dataset.kind === "number" ? Number(el.value) : el.value;
  }
  return r;
}
async function post(body) {
  const res = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json",
    "Accept": "application/json"}, body: JSON.stringify(body)});
  const value = await res.json();
  if (!res.ok) throw value.error;
  return value;
}
function curve(points) {
  const w = 560, h = 220, pad = 44, xs = points.map(p => p[0]), ys = points.map(p => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = 0, y1 = Math.max(...ys) * 1.1;
  const X = x => pad + (x - x0) / (x1 - x0) * (w - 2 * pad), Y = y => h - pad - (y - y0) / (y1 - y0) * (h - 2 * pad);
  const ns = "http://www.w3.org/2000/svg", svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`); svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `Price falls from ${money(ys[0])} at ${xs[0]} days to ${money(ys[ys.length - 1])} at ${xs[xs.length - 1]} days`);
  const add = (tag, attrs, content) => { const e = document.createElementNS(ns, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]); if (content !== undefined) e.textContent = content;
    svg.appendChild(e); return e; };
  add("line", {x1: pad, y1: h - pad, x2: w - pad, y2: h - pad, stroke: "#555"});
  add("line", {x1: pad, y1: pad / 2, x2: pad, y2: h - pad, stroke: "#555"});
  add("polyline", {points: points.map(p => `${X(p[0])},${Y(p[1])}`).join(" "), fill: "none", stroke: "#0b57d0",
    "stroke-width": 2.5});
  for (const p of [points[0], points[points.length - 1]]) {
    add("circle", {cx: X(p[0]), cy: Y(p[1]), r: 3.5, fill: "#0b57d0"});
    add("text", {x: X(p[0]), y: Y(p[1]) - 8, "text-anchor": p === points[0] ? "start" : "end", "font-size": 12},
        money(p[1]));
  }
  add("text", {x: w / 2, y: h - 8, "text-anchor": "middle", "font-size": 12}, "days used");
  add("text", {x: pad, y: h - pad + 16, "text-anchor": "middle", "font-size": 11}, String(x0));
  add("text", {x: w - pad, y: h - pad + 16, "text-anchor": "middle", "font-size": 11}, String(x1));
  return svg;
}
form.addEventListener("submit", async event => {
  event.preventDefault();
  out.replaceChildren(text("p", "Pricing…"));
  try {
    const r = record(), a = await post({...r, explain: true}), range = a.used_price_range;
    const shown = [text("h2", "Estimated used price"),
      text("p", money(a.used_price), {id: "price"}),
      text("p", "", {id: "range"})];
    shown[2].append(`${Math.round(range.level * 100)}% range: `, text("span", money(range.low), {id: "range-low"}),
      " to ", text("span", money(range.high), {id: "range-high"}),
      ` (about ${Math.round(a.retained_fraction * 100)}% of the new price ${money(a.new_price)})`);
    if (a.warnings.length) {
      const list = text("ul", "", {className: "warn", id: "warnings"});
      for (const w of a.warnings) list.append(text("li", w.message));
      shown.push(text("h3", "Check these"), list);
    }
    const reasons = Object.entries(a.explanation.contributions).filter(e => Math.abs(e[1]) >= 0.005)
      .sort((p, q) => Math.abs(q[1]) - Math.abs(p[1])).slice(0, 5);
    const table = text("table", "", {id: "reasons"});
    table.append(text("caption", `Main reasons, against a typical device at ${money(a.explanation.reference_price)}`));
    for (const [field, value] of reasons) {
      const row = document.createElement("tr");
      row.append(text("th", LABELS[field] || field, {scope: "row"}),
        text("td", (value >= 0 ? "+" : "−") + money(Math.abs(value)), {className: "num"}));
      table.append(row);
    }
    shown.push(table);
    out.replaceChildren(...shown);
    const days = AGES.map(d => ({...r, days_used: d}));
    const batch = await post({instances: days});
    out.append(text("h3", "How the price falls with use"),
      curve(batch.predictions.map((p, i) => [AGES[i], p.used_price])));
  } catch (error) {
    const box = text("div", "", {className: "error", id: "error", role: "alert"});
    box.append(text("p", error && error.message ? error.message : String(error)));
    for (const d of (error && error.details) || []) box.append(text("p", `${LABELS[d.field] || d.field || ""}: ${d.reason}`));
    out.replaceChildren(box);
  }
});
