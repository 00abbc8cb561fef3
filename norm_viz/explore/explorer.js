// The Explorer in the browser. Appended to norm_viz/cube/cube.js (whose default export becomes mountCube), so the
// cube here is the app's one cube renderer. Python sends, once per tensor and parameters, every row of NORMS
// computed by torch (norm_viz/explore/payload.py, a binary message); a norm switch, a cell click, the batch item
// and the colour scale then redraw the cube, the statistics, the heatmaps, the histogram and the arithmetic here,
// with no script rerun. The only number formed here is x̂ of the one cell whose arithmetic is printed.
// The view goes to the URL (history.replaceState) and to a hidden Streamlit text input that never reruns
// (on_change="ignore"): Python reads it on the next rerun that something else causes.

const NVX = { roots: new Map() };
export const ID = "nvx"; // the keys ui/explorer.py gives its widgets start with it
const INK = "#7F7F7F", IN = "#0072B2", OUT = "#009E73", SEL = "#D55E00", LITC = "#E69F00";
// plotly's RdBu_r and Cividis, the colour scales the plotly figures used (tests hold them equal to plotly's)
export const RDBU_R = [[0, "#053061"], [0.1, "#2166ac"], [0.2, "#4393c3"], [0.3, "#92c5de"], [0.4, "#d1e5f0"], [0.5, "#f7f7f7"], [0.6, "#fddbc7"], [0.7, "#f4a582"], [0.8, "#d6604d"], [0.9, "#b2182b"], [1, "#67001f"]];
export const CIVIDIS = [[0, "#00224e"], [1 / 9, "#123570"], [2 / 9, "#3b496c"], [3 / 9, "#575d6d"], [4 / 9, "#707173"], [5 / 9, "#8a8678"], [6 / 9, "#a59c74"], [7 / 9, "#c3b369"], [8 / 9, "#e1cc55"], [1, "#fee838"]];
export const NUMBERS_UP_TO = 8; // a heatmap prints its values while both sides are at most this long
export const PRESENT_SCALE = 1.45;
const AXIS = { batch: "batch (b)", sequence: "sequence (s)", feature: "feature (f)", group: "group (g)" };

// ---- the message -------------------------------------------------------------------------------------------

/** The binary message of payload.pack: "NVX1", a header length, a JSON header, then float32 arrays. */
export function decode(bytes) {
  const u8 = new Uint8Array(bytes);
  const copy = u8.slice(); // its own, 4-byte aligned buffer (the data may be a view into a larger one)
  const magic = String.fromCharCode(...copy.slice(0, 4));
  if (magic !== "NVX1") throw new Error("not an Explorer message");
  const n = new DataView(copy.buffer).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(copy.slice(8, 8 + n)));
  const blob = new Float32Array(copy.buffer, 8 + n, (copy.length - 8 - n) / 4);
  const fill = (v) => {
    if (Array.isArray(v)) return v.map(fill);
    if (v && typeof v === "object") {
      const keys = Object.keys(v);
      if (keys.length === 2 && "@" in v && "n" in v) return blob.subarray(v["@"], v["@"] + v.n);
      const o = {};
      for (const k of keys) o[k] = fill(v[k]);
      return o;
    }
    return v;
  };
  return fill(header);
}

// ---- numbers as Python prints them (core/numbers.py) -------------------------------------------------------

/** Python's f"{v:.{digits}g}". */
export function pyG(v, digits = 4) {
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const [mant, ex] = v.toExponential(digits - 1).split("e");
  const e = Number(ex);
  const strip = (t) => (t.includes(".") ? t.replace(/0+$/, "").replace(/\.$/, "") : t);
  if (e < -4 || e >= digits) return `${strip(mant)}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  return strip(v.toFixed(Math.max(0, digits - 1 - e)));
}

/** numbers.fmt: '0' for zero (never '-0'). */
export const fmt = (v, digits = 4) => (v === 0 ? "0" : pyG(v, digits));

/** numbers.tex as MathML: 1e-05 as 10⁻⁵, 2.5e-07 as 2.5 × 10⁻⁷; a negative in parentheses if asked. */
export function mnum(v, paren = false) {
  const t = fmt(v);
  let m;
  if (t.includes("e")) {
    const [mant, ex] = t.split("e");
    const pow = `<msup><mn>10</mn><mrow><mn>${Number(ex)}</mn></mrow></msup>`;
    m = mant === "1" || mant === "1.0" ? pow : `<mn>${mant}</mn><mo>×</mo>${pow}`;
  } else m = `<mn>${t}</mn>`;
  return paren && v < 0 ? `<mo>(</mo>${m}<mo>)</mo>` : m;
}

// ---- one cell ----------------------------------------------------------------------------------------------

/** The id of the group (statistic) of `cell` under `row`: its index over the kept (B, S, G, F/G) axes. */
export function groupId(row, shape, [b, s, f]) {
  const [K0, K1, K2, K3] = row.kept;
  const fg = shape[2] / row.groups;
  const idx = [K0 > 1 ? b : 0, K1 > 1 ? s : 0, K2 > 1 ? Math.floor(f / fg) : 0, K3 > 1 ? f % fg : 0];
  return ((idx[0] * K1 + idx[1]) * K2 + idx[2]) * K3 + idx[3];
}

const at = (shape, [b, s, f]) => (b * shape[1] + s) * shape[2] + f;
const countOf = (row, gid) => (Array.isArray(row.counts) ? row.counts[gid] : row.counts);

/** Where a cell's γ or β is in its array: one number, one per feature, or one per (sequence, feature). */
const affineAt = (p, [, S, F], [, s, f]) => (p.length === 1 ? 0 : p.length === F ? f : s * F + f);

/** erf with a relative error below 1.2e-7 (Numerical Recipes' erfcc): JS has none. */
export function erf(x) {
  const z = Math.abs(x), t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - r : r - 1;
}

/** The numbers of one cell's computation (NormResult.cell): x, its group's μ, σ², n, x̂ (formed here), γ, β, y
 * (torch's, null while the row's output has not come). */
export function cellNumbers(P, key, cell) {
  const row = P.rows[key];
  const i = at(P.shape, cell);
  const x = P.x[i];
  const f = cell[2];
  const gamma = row.gamma ? row.gamma[affineAt(row.gamma, P.shape, cell)] : 1;
  const beta = row.beta ? row.beta[affineAt(row.beta, P.shape, cell)] : 0;
  const y = row.y ? row.y[i] : null;
  if (!row.statistic) {
    const a = row.alpha[f];
    const xh = row.squash === "erf" ? erf(a * x + row.shift) : Math.tanh(a * x);
    return { x, group: i, mean: 0, var: x * x, n: 1, x_hat: xh, gamma, beta, y, alpha: a };
  }
  const gid = groupId(row, P.shape, cell);
  const mean = row.mean ? row.mean[gid] : 0;
  const v = row.var[gid];
  // x̂ from the shipped statistics; where the formula does not give torch's x̂ (PowerNorm's GroupScaling), torch's
  const xh = row.xhat ? row.xhat[i] : (row.centered ? x - mean : x) / Math.sqrt(v + P.eps);
  return { x, group: gid, mean, var: v, n: countOf(row, gid), x_hat: xh, gamma, beta, y };
}

/** 'Its group holds N cells; the statistics come from …' (explorer.group_line). */
export function groupLine(P, key, cell) {
  const row = P.rows[key];
  const n = cellNumbers(P, key, cell).n;
  const src = row.running ? "running statistics (eval mode)" : `n = ${n} value${n !== 1 ? "s" : ""}`;
  const cells = row.group_size === 1 ? "1 cell" : `${row.group_size} cells`;
  return `Its group holds <b>${cells}</b>; the statistics come from <b>${src}</b>.`;
}

const mi = (t) => `<mi>${t}</mi>`, mo = (t) => `<mo>${t}</mo>`;
const XHAT = `<mover accent="true"><mi>x</mi><mo>^</mo></mover>`;
const SP = `<mspace width="1.2em"></mspace>`;
const row_ = (...xs) => `<mrow>${xs.join("")}</mrow>`;
const frac = (a, b) => `<mfrac>${row_(a)}${row_(b)}</mfrac>`;
const sqrt = (a) => `<msqrt>${a}</msqrt>`;
const math = (body) => `<math display="block">${body}</math>`;

/** The statistic's symbol: σ², the mean square (x² with a bar) or PowerNorm's ψ². */
function varSymbol(row) {
  if (row.symbol === "sigma") return `<msup><mi>σ</mi><mn>2</mn></msup>`;
  if (row.symbol === "psi") return `<msup><mi>ψ</mi><mn>2</mn></msup>`;
  return `<mover><mrow><msup><mi>x</mi><mn>2</mn></msup></mrow><mo>‾</mo></mover>`;
}

/** The chosen cell's arithmetic as MathML lines (formulas.result_derivation): x, the group's statistics, x̂, y. */
export function derivation(P, key, cell) {
  const row = P.rows[key];
  const v = cellNumbers(P, key, cell);
  const lines = [math(row_(mi("x"), mo("="), mnum(v.x)))];
  const eps = mnum(P.eps);
  if (!row.statistic) {
    const fn = row.squash === "erf" ? "erf" : "tanh";
    lines.push(math(row_(XHAT, mo("="), mi(fn), mo("("), mi("α"), mi("x"), mo(")"), mo("="), mi(fn), mo("("), mnum(v.alpha), mo("⋅"), mnum(v.x, true), mo(")"), mo("="), mnum(v.x_hat))));
  } else {
    const S = varSymbol(row);
    lines.push(math(row.centered
      ? row_(mi("μ"), mo("="), mnum(v.mean), SP, S, mo("="), mnum(v.var), SP, mi("ε"), mo("="), eps)
      : row_(S, mo("="), mnum(v.var), SP, mi("ε"), mo("="), eps)));
    const symbolic = row.centered ? frac(row_(mi("x"), mo("−"), mi("μ")), sqrt(row_(S, mo("+"), mi("ε")))) : frac(mi("x"), sqrt(row_(S, mo("+"), mi("ε"))));
    const numeric = row.centered ? frac(row_(mnum(v.x), mo("−"), mnum(v.mean, true)), sqrt(row_(mnum(v.var), mo("+"), eps))) : frac(mnum(v.x), sqrt(row_(mnum(v.var), mo("+"), eps)));
    lines.push(math(`<mtable columnalign="right left"><mtr><mtd>${XHAT}</mtd><mtd>${row_(mo("="), symbolic, mo("="), numeric)}</mtd></mtr><mtr><mtd></mtd><mtd>${row_(mo("="), mnum(v.x_hat))}</mtd></mtr></mtable>`));
  }
  const y = v.y === null ? `<mtext>…</mtext>` : mnum(v.y);
  lines.push(math(row_(mi("y"), mo("="), mi("γ"), XHAT, mo("+"), mi("β"), mo("="), mnum(v.gamma), mo("⋅"), mnum(v.x_hat, true), mo("+"), mnum(v.beta, true), mo("="), y)));
  return lines;
}

// ---- drawing -----------------------------------------------------------------------------------------------

const hex = (h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
/** The colour of t in [0, 1] on a scale of [stop, "#rrggbb"] pairs. */
export function colourAt(scale, t) {
  const u = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0.5));
  let k = 1;
  while (k < scale.length - 1 && scale[k][0] < u) k++;
  const [t0, c0] = scale[k - 1], [t1, c1] = scale[k];
  const w = t1 > t0 ? (u - t0) / (t1 - t0) : 0;
  const a = hex(c0), b = hex(c1);
  return `rgb(${a.map((v, i) => Math.round(v + (b[i] - v) * w)).join(",")})`;
}
const ink = (scale, t) => { // dark text on light cells, light text on dark ones
  const [r, g, b] = colourAt(scale, t).slice(4, -1).split(",").map(Number);
  return 0.299 * r + 0.587 * g + 0.114 * b > 140 ? "#111" : "#fff";
};
const escq = (t) => String(t).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
/** The page's markdown subset in the texts Python wrote: **bold** and `code`. */
export const md = (t) => escq(t).replace(/\*\*(.+?)\*\*/g, "<b>$1</b>").replace(/`(.+?)`/g, "<code>$1</code>");
const tickStep = (n) => (n <= 16 ? 1 : Math.ceil(n / 8));

/** A colour bar from lo to hi at (x, y), h tall, with three labelled ticks. */
function colourBar(scale, lo, hi, x, y, h, id) {
  const stops = scale.map(([t, c]) => `<stop offset="${t}" stop-color="${c}"/>`).join("");
  let s = `<defs><linearGradient id="${id}" x1="0" y1="1" x2="0" y2="0">${stops}</linearGradient></defs>`;
  s += `<rect x="${x}" y="${y}" width="14" height="${h}" fill="url(#${id})" stroke="${INK}" stroke-width="0.5"/>`;
  for (const [t, v] of [[0, lo], [0.5, (lo + hi) / 2], [1, hi]]) {
    const yy = y + h - t * h;
    s += `<line x1="${x + 14}" x2="${x + 18}" y1="${yy}" y2="${yy}" stroke="${INK}"/><text class="tick" x="${x + 21}" y="${yy + 4}">${escq(pyG(v, 3))}</text>`;
  }
  return s;
}

/** One sequence × feature heatmap panel as SVG; cells carry data-s/data-f for clicks. */
function heatPanel(o) {
  const { z, s, f, lim, x0, y0, w, h, title, colour, group, cell, item, name, yTitle } = o;
  const cw = w / f, ch = h / s;
  let out = `<text class="ptitle" x="${x0 + w / 2}" y="${y0 - 12}" text-anchor="middle" style="fill:${colour}">${escq(title)}</text>`;
  const numbers = s <= NUMBERS_UP_TO && f <= NUMBERS_UP_TO;
  const fs = Math.max(9, Math.min(15, Math.min(cw / 3.6, ch / 1.8)));
  for (let i = 0; i < s; i++) for (let j = 0; j < f; j++) {
    const v = z[i * f + j];
    const t = (v / lim + 1) / 2;
    out += `<rect class="hc" data-s="${i}" data-f="${j}" x="${(x0 + j * cw).toFixed(2)}" y="${(y0 + i * ch).toFixed(2)}" width="${(cw + 0.4).toFixed(2)}" height="${(ch + 0.4).toFixed(2)}" fill="${colourAt(RDBU_R, t)}"><title>b=${item} s=${i} f=${j}: ${escq(pyG(v, 4))}</title></rect>`;
    if (numbers) out += `<text class="val" x="${(x0 + (j + 0.5) * cw).toFixed(1)}" y="${(y0 + (i + 0.5) * ch + fs * 0.35).toFixed(1)}" font-size="${fs.toFixed(1)}" fill="${ink(RDBU_R, t)}" text-anchor="middle">${Number.isFinite(v) ? v.toFixed(2) : escq(pyG(v))}</text>`;
  }
  if (group) for (let i = 0; i < s; i++) for (let j = 0; j < f; j++) if (group(i, j)) {
    out += `<rect class="litc" x="${(x0 + j * cw + 1.5).toFixed(1)}" y="${(y0 + i * ch + 1.5).toFixed(1)}" width="${Math.max(1, cw - 3).toFixed(1)}" height="${Math.max(1, ch - 3).toFixed(1)}" fill="none" stroke="${LITC}" stroke-width="2"/>`;
  }
  if (cell && cell[0] === item) out += `<rect class="chosen" x="${(x0 + cell[2] * cw).toFixed(1)}" y="${(y0 + cell[1] * ch).toFixed(1)}" width="${cw.toFixed(1)}" height="${ch.toFixed(1)}" fill="none" stroke="${SEL}" stroke-width="3.5"/>`;
  for (let j = 0; j < f; j += tickStep(f)) out += `<text class="tick" x="${(x0 + (j + 0.5) * cw).toFixed(1)}" y="${y0 + h + 16}" text-anchor="middle">${j}</text>`;
  for (let i = 0; i < s; i += tickStep(s)) out += `<text class="tick" x="${x0 - 6}" y="${(y0 + (i + 0.5) * ch + 4).toFixed(1)}" text-anchor="end">${i}</text>`;
  out += `<text class="axis" x="${x0 + w / 2}" y="${y0 + h + 38}" text-anchor="middle">${AXIS.feature}</text>`;
  if (yTitle) out += `<text class="axis" x="${x0 - 34}" y="${y0 + h / 2}" text-anchor="middle" transform="rotate(-90 ${x0 - 34} ${y0 + h / 2})">${AXIS.sequence}</text>`;
  out += colourBar(RDBU_R, -lim, lim, x0 + w + 10, y0, h, `nvx-bar-${name}`);
  return out;
}

const absMax = (a) => { let m = 0; for (const v of a) if (Number.isFinite(v) && Math.abs(v) > m) m = Math.abs(v); return m || 1; };

/** The input and output of batch item `item` side by side (heatmaps_figure), the chosen cell and its group marked. */
export function heatmapsSvg(P, key, view, width) {
  const [B, S, F] = P.shape;
  const row = P.rows[key];
  const item = Math.min(view.item, B - 1);
  const n = S * F;
  const xin = P.x.subarray(item * n, item * n + n);
  const xout = row.y ? row.y.subarray(item * n, item * n + n) : null;
  let li = absMax(xin), lo = xout ? absMax(xout) : 1;
  if (view.shared) li = lo = Math.max(li, lo);
  const gap = 120, left = 56;
  const w = Math.max(80, (width - left - gap - 70) / 2);
  const h = Math.max(90, Math.min(360, (w * S) / F, S * 46));
  const top = 40, height = top + h + 50;
  const gid = row.statistic ? groupId(row, P.shape, view.cell) : -1;
  const group = row.statistic ? (i, j) => groupId(row, P.shape, [item, i, j]) === gid : (i, j) => item === view.cell[0] && i === view.cell[1] && j === view.cell[2];
  let svg = heatPanel({ z: xin, s: S, f: F, lim: li, x0: left, y0: top, w, h, title: `input, batch item ${item}`, colour: IN, group, cell: view.cell, item, name: "in", yTitle: true });
  if (xout) svg += `<g class="out">${heatPanel({ z: xout, s: S, f: F, lim: lo, x0: left + w + gap, y0: top, w, h, title: `output, batch item ${item}`, colour: OUT, group, cell: view.cell, item, name: "out" })}</g>`;
  else svg += `<text class="axis" x="${left + w + gap + w / 2}" y="${top + h / 2}" text-anchor="middle">loading the output…</text>`;
  return { svg, width, height, w, h, left, gap, top };
}

/** μ and σ² (or the mean square) of every group (stats_figure): bars over one axis, a grid over two or more. */
export function statsSvg(P, key, cell, width) {
  const row = P.rows[key];
  const gid = groupId(row, P.shape, cell);
  const varName = row.centered ? "variance σ²" : (row.symbol === "psi" ? "mean square ψ²" : "mean square");
  const panels = (row.mean ? [["mean μ", row.mean]] : []).concat([[varName, row.var]]);
  const axes = row.axes, shape = row.stats_shape;
  const grid = axes.length > 1;
  const gap = grid ? 170 : 110, left = 64, top = 44; // a grid's colour bar and its labels sit in the gap
  const w = Math.max(120, (width - left - (panels.length - 1) * gap - 80) / panels.length);
  const cols = grid ? shape[shape.length - 1] : 0, rowsN = grid ? row.var.length / cols : 0;
  const h = grid ? Math.max(80, Math.min(320, (w * rowsN) / cols, rowsN * 40)) : 220;
  let svg = "";
  panels.forEach(([name, v], p) => {
    const x0 = left + p * (w + gap);
    svg += `<text class="ptitle" x="${x0 + w / 2}" y="${top - 14}" text-anchor="middle">${escq(name)}</text>`;
    if (!grid) {
      let lo = Math.min(0, ...v), hi = Math.max(0, ...v);
      if (!Number.isFinite(lo) || !Number.isFinite(hi)) { lo = 0; hi = 1; }
      if (hi <= lo) hi = lo + 1;
      const y = (val) => top + h - ((val - lo) / (hi - lo)) * h;
      const bw = w / v.length;
      v.forEach((val, k) => {
        const y1 = y(Math.max(0, val)), y2 = y(Math.min(0, val));
        svg += `<rect class="bar${k === gid ? " sel" : ""}" x="${(x0 + k * bw + bw * 0.1).toFixed(1)}" y="${y1.toFixed(1)}" width="${(bw * 0.8).toFixed(1)}" height="${Math.max(0.5, y2 - y1).toFixed(1)}" fill="${k === gid ? SEL : IN}"><title>${k}: ${escq(pyG(val, 4))}</title></rect>`;
      });
      svg += `<line x1="${x0}" x2="${x0 + w}" y1="${y(0)}" y2="${y(0)}" stroke="${INK}"/>`;
      for (const t of [lo, (lo + hi) / 2, hi]) svg += `<text class="tick" x="${x0 - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${escq(pyG(t, 3))}</text>`;
      for (let k = 0; k < v.length; k += tickStep(v.length)) svg += `<text class="tick" x="${(x0 + (k + 0.5) * bw).toFixed(1)}" y="${top + h + 16}" text-anchor="middle">${k}</text>`;
      svg += `<text class="axis" x="${x0 + w / 2}" y="${top + h + 38}" text-anchor="middle">${escq(axes.length ? AXIS[axes[0]] || axes[0] : "group")}</text>`;
    } else {
      const cw = w / cols, ch = h / rowsN;
      let lo = name.startsWith("mean μ") ? Infinity : 0, hi = -Infinity;
      for (const val of v) if (Number.isFinite(val)) { lo = Math.min(lo, val); hi = Math.max(hi, val); }
      if (!(hi > lo)) hi = lo + 1;
      for (let i = 0; i < rowsN; i++) for (let j = 0; j < cols; j++) {
        const val = v[i * cols + j];
        svg += `<rect x="${(x0 + j * cw).toFixed(2)}" y="${(top + i * ch).toFixed(2)}" width="${(cw + 0.4).toFixed(2)}" height="${(ch + 0.4).toFixed(2)}" fill="${colourAt(CIVIDIS, (val - lo) / (hi - lo))}"><title>row ${i}, col ${j}: ${escq(pyG(val, 4))}</title></rect>`;
      }
      const [ri, ci] = [Math.floor(gid / cols), gid % cols];
      svg += `<rect class="sel" x="${(x0 + ci * cw).toFixed(1)}" y="${(top + ri * ch).toFixed(1)}" width="${cw.toFixed(1)}" height="${ch.toFixed(1)}" fill="none" stroke="${SEL}" stroke-width="3.5"/>`;
      for (let j = 0; j < cols; j += tickStep(cols)) svg += `<text class="tick" x="${(x0 + (j + 0.5) * cw).toFixed(1)}" y="${top + h + 16}" text-anchor="middle">${j}</text>`;
      for (let i = 0; i < rowsN; i += tickStep(rowsN)) svg += `<text class="tick" x="${x0 - 6}" y="${(top + (i + 0.5) * ch + 4).toFixed(1)}" text-anchor="end">${i}</text>`;
      svg += `<text class="axis" x="${x0 + w / 2}" y="${top + h + 38}" text-anchor="middle">${escq(AXIS[axes[axes.length - 1]])}</text>`;
      const yt = axes.slice(0, -1).map((a) => AXIS[a]).join(" × ");
      svg += `<text class="axis" x="${x0 - 40}" y="${top + h / 2}" text-anchor="middle" transform="rotate(-90 ${x0 - 40} ${top + h / 2})">${escq(yt)}</text>`;
      svg += colourBar(CIVIDIS, lo, hi, x0 + w + 10, top, h, `nvx-sbar-${p}`);
    }
  });
  return { svg, height: top + h + 50 };
}

/** Every input and output value in common bins (histogram_figure), from the counts torch made. */
export function histSvg(P, key, width) {
  const hist = P.rows[key].hist;
  const left = 64, top = 30, h = 190, w = Math.max(200, width - left - 30);
  const n = hist.input.length || 1;
  const most = Math.max(1, ...hist.input, ...hist.output);
  const bw = w / n;
  let svg = "";
  for (const [counts, colour, cls] of [[hist.input, IN, "hin"], [hist.output, OUT, "hout"]]) {
    counts.forEach((c, k) => {
      if (!c) return;
      const hh = (c / most) * h;
      svg += `<rect class="${cls}" x="${(left + k * bw).toFixed(1)}" y="${(top + h - hh).toFixed(1)}" width="${Math.max(0.5, bw - 1).toFixed(1)}" height="${hh.toFixed(1)}" fill="${colour}" fill-opacity="0.6"/>`;
    });
  }
  for (const t of [0, 0.5, 1]) svg += `<text class="tick" x="${left + t * w}" y="${top + h + 16}" text-anchor="middle">${escq(pyG(hist.lo + t * (hist.hi - hist.lo), 3))}</text>`;
  for (const t of [0, most]) svg += `<text class="tick" x="${left - 6}" y="${top + h - (t / most) * h + 4}" text-anchor="end">${t}</text>`;
  svg += `<text class="axis" x="${left + w / 2}" y="${top + h + 38}" text-anchor="middle">value</text>`;
  svg += `<text class="axis" x="${left - 40}" y="${top + h / 2}" text-anchor="middle" transform="rotate(-90 ${left - 40} ${top + h / 2})">cells</text>`;
  svg += `<rect x="${left + w - 150}" y="4" width="12" height="12" fill="${IN}" fill-opacity="0.6"/><text class="tick" x="${left + w - 134}" y="14">input</text>`;
  svg += `<rect x="${left + w - 80}" y="4" width="12" height="12" fill="${OUT}" fill-opacity="0.6"/><text class="tick" x="${left + w - 64}" y="14">output</text>`;
  return { svg, height: top + h + 50 };
}

// ---- the component -----------------------------------------------------------------------------------------

/** The view after a change: the cell clamped into the tensor, the norm one of the payload's rows. */
export function settle(P, view) {
  const cell = view.cell.map((v, i) => Math.min(Math.max(0, Math.trunc(Number(v) || 0)), P.shape[i] - 1));
  const norm = P.rows[view.norm] ? view.norm : Object.keys(P.rows)[0];
  const item = Math.min(Math.max(0, Math.trunc(Number(view.item) || 0)), P.shape[0] - 1);
  return { ...view, cell, norm, item, shared: !!view.shared };
}

function buildExplorer(root, P) {
  const opts = Object.entries(P.rows).map(([k, r]) => `<option value="${k}">${escq(r.label)}</option>`).join("");
  const [B, S, F] = P.shape;
  root.innerHTML = `
  <div class="nvx-top"><label class="nvx-pick">Normalization <select class="nvx-norm" aria-label="Normalization">${opts}</select></label>
    <div class="nvx-about"></div></div>
  <div class="nvx-alert" role="alert"></div>
  <div class="nvx-verdict box" role="status"></div>
  <div class="nvx-main"><div class="nvx-cube"></div>
    <div class="nvx-cell"><h3>Choose a cell</h3>
      <div class="nvx-inputs"><label>b (batch)<input type="number" class="nvx-cb" min="0" max="${B - 1}" step="1"></label>
      <label>s (sequence)<input type="number" class="nvx-cs" min="0" max="${S - 1}" step="1"></label>
      <label>f (feature)<input type="number" class="nvx-cf" min="0" max="${F - 1}" step="1"></label></div>
      <p class="nvx-group" aria-live="polite"></p><div class="nvx-math"></div></div></div>
  <div class="nvx-rest">
  <h3>Statistics</h3><div class="nvx-stats-info box info"></div><div class="nvx-stats-title cap"></div><svg class="nvx-stats" role="img" aria-label="statistics of every group"></svg>
  <h3>Input and output</h3>
  <div class="nvx-heat-controls"><label>batch item to show <input type="number" class="nvx-item" min="0" max="${B - 1}" step="1"></label>
    <label class="nvx-toggle"><input type="checkbox" class="nvx-shared"> same colour scale for input and output</label></div>
  <div class="cap">Input and output side by side (click a cell to choose it)</div>
  <svg class="nvx-heat" role="img" aria-label="input and output heatmaps"></svg>
  <div class="nvx-check box"></div>
  <div class="nvx-more"><div class="cap">All values before and after</div><svg class="nvx-hist" role="img" aria-label="histogram of input and output values"></svg>
    <h3>Reproduce it in PyTorch</h3><pre class="nvx-snippet"><code></code></pre></div>
  </div>`;
}

const msgBox = (el, m) => { el.className = el.className.replace(/ (success|error|warning|info|markdown)/g, "") + ` ${m.kind}`; el.innerHTML = md(m.text); };

/** Redraw everything for `view` from payload P (no server work). */
export function draw(root, P, view, opts = {}) {
  const row = P.rows[view.norm];
  const q = (c) => root.querySelector(c);
  q(".nvx-norm").value = view.norm;
  q(".nvx-about").innerHTML = `<b>${escq(row.label)}</b> — ${escq(row.summary)}. <span class="paper">(${escq(row.paper)})</span>`;
  // the drawings' coordinates are px at this width; on a projector they are drawn for a narrower width and scaled up,
  // so that every label grows by PRESENT_SCALE (13 px ticks become 19 px)
  const width = Math.max(560, (root.clientWidth || 1100) / (opts.present ? PRESENT_SCALE : 1));
  const alert = q(".nvx-alert");
  const rest = q(".nvx-rest"), main = q(".nvx-main"), verdictEl = q(".nvx-verdict");
  if (row.error) {
    alert.innerHTML = `<div class="box error">${md(row.error)}</div><div class="box info">Change the tensor or the parameters above; the rest of the page returns when the normalization can run.</div>`;
    rest.hidden = main.hidden = verdictEl.hidden = true;
  } else {
    alert.innerHTML = row.warning ? `<div class="box warning">${md(row.warning)}</div>` : "";
    rest.hidden = main.hidden = verdictEl.hidden = false;
    msgBox(verdictEl, row.verdict);
    for (const [k, i] of [["cb", 0], ["cs", 1], ["cf", 2]]) { const el = q(`.nvx-${k}`); if (Number(el.value) !== view.cell[i] || el.value === "") el.value = view.cell[i]; }
    q(".nvx-group").innerHTML = groupLine(P, view.norm, view.cell);
    q(".nvx-math").innerHTML = derivation(P, view.norm, view.cell).join("");
    const statsInfo = q(".nvx-stats-info"), statsSvgEl = q(".nvx-stats"), statsTitle = q(".nvx-stats-title");
    if (!row.statistic) {
      statsInfo.hidden = false; statsSvgEl.style.display = "none"; statsTitle.hidden = true;
      statsInfo.textContent = `${row.label}: ${row.summary}, so there is nothing to plot here.`;
    } else {
      statsInfo.hidden = true; statsSvgEl.style.display = ""; statsTitle.hidden = false;
      statsTitle.textContent = row.stats_title;
      const st = statsSvg(P, view.norm, view.cell, width);
      statsSvgEl.setAttribute("viewBox", `0 0 ${width} ${st.height}`);
      statsSvgEl.innerHTML = st.svg;
    }
    q(".nvx-item").value = view.item;
    q(".nvx-shared").checked = view.shared;
    const hm = heatmapsSvg(P, view.norm, view, width);
    const heat = q(".nvx-heat");
    heat.setAttribute("viewBox", `0 0 ${width} ${hm.height}`);
    heat.innerHTML = hm.svg;
    heat.__geo = hm;
    msgBox(q(".nvx-check"), row.check);
    q(".nvx-more").hidden = !!opts.present;
    if (!opts.present) {
      const hs = histSvg(P, view.norm, width);
      const hist = q(".nvx-hist");
      hist.setAttribute("viewBox", `0 0 ${width} ${hs.height}`);
      hist.innerHTML = hs.svg;
      q(".nvx-snippet code").textContent = row.snippet;
    }
  }
  root.dataset.drawn = `${view.norm}|${view.cell.join(",")}`;
  root.dataset.item = String(view.item);
  root.dataset.draws = String((Number(root.dataset.draws) || 0) + 1);
}

/** The URL of this view: norm, cb, cs, cf and show_b set, every other parameter kept. */
export function viewUrl(href, view) {
  const u = new URL(href);
  const p = u.searchParams;
  p.set("norm", view.norm);
  ["cb", "cs", "cf"].forEach((k, i) => p.set(k, String(view.cell[i])));
  p.set("show_b", String(view.item));
  p.set("shared_scale", view.shared ? "1" : "0");
  return u.pathname + "?" + p.toString() + u.hash;
}

/** The view the address names (what Python's command will say, for a link it has not clamped), as a stand-in until
 * the command (the view component, mounted beside this one in no fixed order) arrives: revision -1, so that any
 * command of Python's wins, presentation mode included (no redraw from the normal to the projector layout). */
export function urlView(search) {
  const q = new URLSearchParams(search);
  const n = (k) => Number(q.get(k)) || 0;
  return { rev: -1, norm: q.get("norm") || "layernorm", cell: [n("cb"), n("cs"), n("cf")], item: n("show_b"), shared: q.get("shared_scale") === "1", present: q.get("present") === "1" };
}

/** The text Python reads from the hidden report input (ui/explorer.py parses it back). */
export const reportText = (view) => `${view.norm}|${view.cell.join(",")}|${view.item}|${view.shared ? 1 : 0}`;

function report(view, id) {
  if (typeof window === "undefined") return;
  try { window.history.replaceState(window.history.state, "", viewUrl(window.location.href, view)); } catch (e) { /* a sandboxed frame */ }
  const input = document.querySelector(`.st-key-_${id}_report input`);
  if (!input) return;
  const text = reportText(view);
  if (input.value === text) return;
  // a React-controlled input: set its value through the prototype's setter, then commit it with Enter; the widget
  // has on_change="ignore", so this reruns nothing and Python gets the value with the next rerun
  Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set.call(input, text);
  input.dispatchEvent(new Event("input", { bubbles: true }));
  input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", code: "Enter", keyCode: 13, which: 13, bubbles: true }));
}

/** Show the Streamlit widgets of the row's own parameters only (keyed containers ui/explorer.py draws). */
function paramVisibility(P, key, id) {
  if (typeof document === "undefined") return;
  const all = new Set();
  Object.values(P.rows).forEach((r) => (r.params || []).forEach((p) => all.add(p)));
  const row = P.rows[key];
  const hide = [...all].filter((p) => !(row.params || []).includes(p)).map((p) => `.st-key-${id}_param_${p}`);
  if (!row.uses_lengths) hide.push(`.st-key-${id}_param_lengths`);
  let style = document.getElementById(`${id}-params`);
  if (!style) { style = document.createElement("style"); style.id = `${id}-params`; document.head.appendChild(style); }
  // the keyed container and the layout wrapper around it (a hidden 0 px container in a wrapping row still takes a
  // line and its gap: four hidden parameters pushed the cube 64 px down)
  const both = hide.flatMap((k) => [k, `[data-testid="stLayoutWrapper"]:has(> ${k})`]);
  style.textContent = both.length ? `${both.join(",")}{display:none !important}` : "";
}

export default function (component) {
  const { data, parentElement } = component;
  if (!data) return;
  const P = decode(data);
  const id = ID;
  let root = parentElement.querySelector(".nv-explorer");
  if (!root) { root = document.createElement("div"); root.className = "nv-explorer"; parentElement.appendChild(root); }
  const signature = `${P.shape.join(",")}|${Object.keys(P.rows).join(",")}`;
  if (root.dataset.signature !== signature) { buildExplorer(root, P); root.dataset.signature = signature; root.__cube = null; }
  const cmd = (window.__nvxView || {})[id] || urlView(window.location.search);
  let st = NVX.roots.get(id);
  if (!st || st.signature !== signature) st = { rev: -1, view: null, signature, cubeRev: 0 };
  if (cmd.rev > st.rev || !st.view) { st.rev = cmd.rev; st.view = { norm: cmd.norm, cell: cmd.cell.slice(), item: cmd.item, shared: cmd.shared }; }
  st.view = settle(P, st.view);
  st.P = P; st.opts = cmd;
  NVX.roots.set(id, st);
  root.__st = st;
  const cubeId = `${id}_cube`;
  const sendCube = () => {
    st.cubeRev += 1;
    const c = { id: cubeId, rev: st.cubeRev, norm: st.view.norm, cell: st.view.cell.slice(), lit: true };
    (window.__nvcubeCmd = window.__nvcubeCmd || {})[cubeId] = c;
    window.dispatchEvent(new CustomEvent("nvcube-cmd", { detail: c }));
  };
  const redraw = (from) => {
    const s = root.__st;
    s.view = settle(s.P, s.view);
    if (from !== "cube") sendCube();
    draw(root, s.P, s.view, { present: !!s.opts.present });
    paramVisibility(s.P, s.view.norm, id);
    if (from) {
      report(s.view, id);
      const need = !s.P.rows[s.view.norm].y && !s.P.rows[s.view.norm].error;
      if (need) component.setTriggerValue("need", s.view.norm); // a large tensor: this row's output on first use
    }
  };
  const cubeHost = root.querySelector(".nvx-cube");
  // the shared cube renderer, told through a stand-in for Streamlit's component: its "pick" moves this view
  const mountTheCube = () => {
    const { P: p, opts } = root.__st;
    const present = !!opts.present; // on a projector: no small multiples, up to half the window (as ui.cube)
    const cubeData = { id: cubeId, shape: p.shape, groups: p.groups, lengths: p.lengths, rules: p.cube_rules, multiples: !present, height: present ? 260 : 430, fit: present ? 0.5 : 0, mode: "choose", lit: true, marks: [] };
    sendCube();
    mountCube({ data: cubeData, parentElement: cubeHost, setTriggerValue: (name, v) => {
      if (name !== "pick") return;
      const s = root.__st;
      s.view = { ...s.view, cell: v.cell.slice(), norm: v.norm };
      redraw("cube");
    } });
  };
  mountTheCube();
  if (!root.__wired) {
    root.__wired = true;
    window.addEventListener("nvx-view", (ev) => { // Python moved the view (a link, a clamped cell): newer wins
      const s = root.__st, c = ev.detail;
      if (c.id !== id || c.rev <= s.rev) return;
      s.rev = c.rev;
      const remount = !!s.opts.present !== !!c.present;
      s.opts = c;
      s.view = { norm: c.norm, cell: c.cell.slice(), item: c.item, shared: c.shared };
      if (remount) mountTheCube();
      redraw(null);
    });
    root.addEventListener("change", (ev) => {
      const s = root.__st, t = ev.target;
      let view;
      if (t.matches(".nvx-norm")) view = { ...s.view, norm: t.value };
      else if (t.matches(".nvx-cb,.nvx-cs,.nvx-cf")) view = { ...s.view, cell: [".nvx-cb", ".nvx-cs", ".nvx-cf"].map((c) => Number(root.querySelector(c).value)) };
      else if (t.matches(".nvx-item")) view = { ...s.view, item: Number(t.value) };
      else if (t.matches(".nvx-shared")) view = { ...s.view, shared: t.checked };
      else return;
      // Enter in a number box: Chromium's own change and ours (below) arrive for one commit; draw the view once
      if (reportText(view) === reportText(s.view)) return;
      s.view = view;
      redraw("ui");
    });
    root.addEventListener("keydown", (ev) => { // Enter commits a number at once (not only when the box loses focus)
      if (ev.key === "Enter" && ev.target.matches("input[type=number]")) ev.target.dispatchEvent(new Event("change", { bubbles: true }));
    });
    root.addEventListener("click", (ev) => {
      const cellEl = ev.target.closest("rect.hc");
      if (!cellEl) return;
      const s = root.__st;
      s.view = { ...s.view, cell: [s.view.item, Number(cellEl.dataset.s), Number(cellEl.dataset.f)] };
      redraw("heat");
    });
    if (typeof ResizeObserver !== "undefined") {
      let last = 0;
      new ResizeObserver(() => {
        if (Math.abs(root.clientWidth - last) < 8) return;
        last = root.clientWidth;
        redraw(null);
      }).observe(root);
    }
  }
  redraw(null);
}
