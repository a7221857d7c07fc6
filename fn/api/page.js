// The page's behaviour (fn/api/page.py inlines it after LABELS, AGES and FIELDS): read the form,
// post it as JSON with explain=true, show the answer in a person's words, then draw the price
// against days_used from one batch request.
const form = document.getElementById("device"), out = document.getElementById("answer");
const url = location.pathname.replace(/\/?$/, "/");  // behind a gateway too: /function/device-price/
document.getElementById("card").href = url + "model";
const money = v => v.toLocaleString("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2});
const plain = v => v.toLocaleString("en-US", {maximumFractionDigits: 2});
const text = (tag, value, attrs) => { const e = document.createElement(tag); e.textContent = value;
  Object.assign(e, attrs || {}); return e; };
const label = field => LABELS[field] || field;
// An amount with its unit, as a person reads it ("3,000 mAh"; a price as money, "900.00").
function amount(field, value) {
  const f = FIELDS[field] || {};
  if (field === "new_price") return money(value);
  return plain(value) + (f.unit ? " " + f.unit : "");
}
class Refused extends Error { constructor(problems) { super("refused"); this.problems = problems; } }

// A number as a person types it: a point or a comma as the decimal mark ("4,5" is 4.5); with
// both, the last is the decimal mark and the other groups thousands ("1,299.50", "1.299,50").
// A lone comma before exactly three digits ("4,500") could be either: refused, not guessed.
function number(field, typed) {
  let s = typed.trim().replace(/\s/g, "");
  const comma = s.lastIndexOf(","), point = s.lastIndexOf(".");
  if (comma >= 0 && point >= 0) {
    const [group, mark] = comma > point ? [".", ","] : [",", "."];
    s = s.split(group).join("").replace(mark, ".");
  } else if (/^[+-]?\d{1,3}(,\d{3}){2,}$/.test(s)) {
    s = s.split(",").join("");  // 1,234,567: only thousands
  } else if (/^[+-]?\d{1,3},\d{3}$/.test(s)) {
    throw `${label(field)}: “${typed.trim()}” could be ${s.replace(",", "")} or ${s.replace(",", ".")}; ` +
      "type it without the comma, or with a point for the decimals.";
  } else if (comma >= 0 && s.indexOf(",") === comma) {
    s = s.replace(",", ".");
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(s)) throw `${label(field)}: “${typed.trim()}” is not a number.`;
  return Number(s);
}
function record() {
  const r = {}, problems = [];
  for (const el of form.elements) {
    if (!el.name || el.value.trim() === "") continue;
    if (el.dataset.kind !== "number") { r[el.name] = el.value; continue; }
    try { r[el.name] = number(el.name, el.value); } catch (problem) { problems.push(problem); }
  }
  if (problems.length) throw new Refused(problems);
  return r;
}
async function post(body) {
  let res, value;
  try {
    res = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json",
      "Accept": "application/json"}, body: JSON.stringify(body)});
    value = await res.json();
  } catch (e) {
    throw new Refused(["The price service did not answer. Try again in a moment."]);
  }
  if (!res.ok) throw new Refused(explainError(value.error, body));
  return value;
}

// The API's refusal (machine words: field names, reasons) as sentences about the form's fields.
function explainError(error, sent) {
  const details = (error && typeof error === "object" && error.details) || [];
  if (!details.length) return [failed(error)];
  return details.map(d => {
    const f = FIELDS[d.field], value = sent[d.field];
    if (!d.field) return failed(d.reason);
    if (value === undefined) return `${label(d.field)} is needed.`;
    if (f && typeof value === "number" && (value < f.low || value > f.high))
      return `${label(d.field)} must be between ${amount(d.field, f.low)} and ${amount(d.field, f.high)}.`;
    if (f && f.integer && typeof value === "number" && !Number.isInteger(value))
      return `${label(d.field)} must be a whole number.`;
    return `${label(d.field)}: ${d.reason}.`;
  });
}
const failed = m => `The price could not be worked out (${(m && m.message) || m || "no reason given"}).`;

// The answer's warnings (machine codes) as sentences; every field left out is named, in one line.
function explainWarnings(warnings, sent) {
  const lines = [], left = warnings.filter(w => w.code === "imputed").map(w => w.field);
  if (left.length) {
    const typical = left.map(f => `${label(f)} (${amount(f, FIELDS[f].typical)})`).join(", ");
    lines.push({id: "imputed", fields: left, text: `Not given, so the price assumes a typical device's value: ` +
      `${typical}. Fill these in for a surer price.`});
  }
  for (const w of warnings) {
    const field = w.field === "normalized_new_price" && sent.new_price !== undefined ? "new_price" : w.field;
    const value = sent[field], f = FIELDS[w.field] || {};
    let said;
    if (w.code === "imputed") continue;
    if (w.code === "outside_training_range" && f.trained) {
      const [lo, hi] = w.field === "normalized_new_price" ? f.trained.map(Math.exp) : f.trained;
      said = `${label(field)} ${value === undefined ? "" : amount(field, value) + " "}is beyond the devices the ` +
        `model learnt from (${amount(field, lo)} to ${amount(field, hi)}), so the price is a rough guess.`;
    } else if (w.code === "likely_inches") {
      said = `A screen diagonal of ${plain(value)} looks like inches, but this form takes centimetres ` +
        `(${plain(value)} in is ${plain(value * 2.54)} cm). Change it if you measured in inches.`;
    } else if (w.code === "above_new_price") {
      said = "The estimate is above the price when new: check the price when new.";
    } else if (w.code === "unknown_value") {
      said = `The model has not seen this ${label(field).toLowerCase()}; it is priced like the less common ones.`;
    } else {
      said = w.message;
    }
    lines.push({id: w.code, fields: [w.field], text: said});
  }
  return lines;
}

// Round steps for an axis from `lo` to `hi`: the number of them nearest `count`, each 1, 2 or 5
// times a power of ten.
function ticks(lo, hi, count) {
  const raw = (hi - lo) / count, power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map(m => m * power)
    .reduce((best, s) => Math.abs((hi - lo) / s - count) < Math.abs((hi - lo) / best - count) ? s : best);
  const first = Math.ceil(lo / step) * step, out = [];
  for (let v = first; v <= hi + 1e-9; v += step) out.push(Math.round(v * 1e6) / 1e6);
  return out;
}
// The price (and its range) against days used, drawn at the width it is shown at, so that a
// phone's 13 px text stays 13 px: a scaled-down SVG shrinks its labels with it.
function curve(points) {
  const w = Math.max(280, Math.min(640, out.clientWidth)), h = Math.round(w < 480 ? w * 0.75 : w * 0.5);
  const left = 58, right = 16, top = 28, bottom = 48, size = 13;
  const xs = points.map(p => p.days), x0 = Math.min(...xs), x1 = Math.max(...xs);
  const y1 = Math.max(...points.map(p => p.high)) * 1.05, y0 = 0;
  const X = x => left + (x - x0) / (x1 - x0) * (w - left - right);
  const Y = y => h - bottom - (y - y0) / (y1 - y0) * (h - top - bottom);
  const ns = "http://www.w3.org/2000/svg", svg = document.createElementNS(ns, "svg");
  for (const [k, v] of Object.entries({viewBox: `0 0 ${w} ${h}`, width: w, height: h, role: "img", id: "curve"}))
    svg.setAttribute(k, v);
  const first = points[0], last = points[points.length - 1];
  svg.setAttribute("aria-label", `Price falls from ${money(first.price)} at ${first.days} days to ` +
    `${money(last.price)} at ${last.days} days`);
  const add = (tag, attrs, content) => { const e = document.createElementNS(ns, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]); if (content !== undefined) e.textContent = content;
    svg.appendChild(e); return e; };
  for (const v of ticks(y0, y1, w < 480 ? 4 : 5)) {
    add("line", {x1: left, x2: w - right, y1: Y(v), y2: Y(v), stroke: "#e3e3e3"});
    add("text", {x: left - 6, y: Y(v) + 4, "text-anchor": "end", "font-size": size, class: "tick-y"}, plain(v));
  }
  for (const v of ticks(x0, x1, w < 480 ? 4 : 5).filter(v => v >= x0)) {
    add("line", {x1: X(v), x2: X(v), y1: h - bottom, y2: h - bottom + 5, stroke: "#555"});
    add("text", {x: X(v), y: h - bottom + 19, "text-anchor": "middle", "font-size": size, class: "tick-x"}, plain(v));
  }
  add("line", {x1: left, y1: h - bottom, x2: w - right, y2: h - bottom, stroke: "#555"});
  add("line", {x1: left, y1: top, x2: left, y2: h - bottom, stroke: "#555"});
  const band = points.map(p => `${X(p.days)},${Y(p.high)}`).concat(points.slice().reverse()
    .map(p => `${X(p.days)},${Y(p.low)}`));
  add("polygon", {points: band.join(" "), fill: "#0b57d0", "fill-opacity": 0.12, stroke: "none"});
  add("polyline", {points: points.map(p => `${X(p.days)},${Y(p.price)}`).join(" "), fill: "none",
    stroke: "#0b57d0", "stroke-width": 2.5});
  add("text", {x: 4, y: 16, "font-size": size, "font-weight": 600, id: "axis-y"}, "Used price (shaded: its range)");
  add("text", {x: left + (w - left - right) / 2, y: h - 8, "text-anchor": "middle", "font-size": size,
    "font-weight": 600, id: "axis-x"}, "Days used");
  return svg;
}
function showProblems(problems) {
  const box = text("div", "", {className: "error", id: "error", role: "alert"});
  box.append(text("p", "Please check:"));
  const list = text("ul", "");
  for (const p of problems) list.append(text("li", p));
  box.append(list);
  out.replaceChildren(box);
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
    const notes = explainWarnings(a.warnings, r);
    if (notes.length) {
      const list = text("ul", "", {className: "warn", id: "warnings"});
      for (const n of notes) list.append(text("li", n.text, {className: "w-" + n.id, title: n.fields.join(" ")}));
      shown.push(text("h3", "Check these"), list);
    }
    const reasons = Object.entries(a.explanation.contributions).filter(e => Math.abs(e[1]) >= 0.005)
      .sort((p, q) => Math.abs(q[1]) - Math.abs(p[1])).slice(0, 5);
    const table = text("table", "", {id: "reasons"});
    table.append(text("caption", `Main reasons, against a typical device at ${money(a.explanation.reference_price)}`));
    for (const [field, value] of reasons) {
      const row = document.createElement("tr");
      row.append(text("th", label(field), {scope: "row"}),
        text("td", (value >= 0 ? "+" : "−") + money(Math.abs(value)), {className: "num"}));
      table.append(row);
    }
    shown.push(table);
    out.replaceChildren(...shown);
    const batch = await post({instances: AGES.map(d => ({...r, days_used: d}))});
    out.append(text("h3", "How the price falls with use"), curve(batch.predictions.map((p, i) =>
      ({days: AGES[i], price: p.used_price, low: p.used_price_range.low, high: p.used_price_range.high}))));
  } catch (error) {
    showProblems(error instanceof Refused ? error.problems : [failed(String(error))]);
  }
});
