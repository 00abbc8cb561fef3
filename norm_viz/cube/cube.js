// The signature cube of norm-viz, drawn in the browser (SVG, no WebGL, no outside request).
// A (batch, sequence, feature) tensor as a box: sequence to the right, feature up, batch into the page (the
// orientation of the paper-style small cubes). The cells that share the chosen cell's statistic are one solid
// block, with its shadows on the floor and the back walls; the chosen cell is a solid voxel. Clicking a face of
// the box chooses a cell, clicking a small cube chooses a norm: both redraw here at once and are then reported to
// Python as the trigger "pick". Each norm's rule (its tile, from table.lit_box) comes from norm_viz/cube/rule.py,
// never from here. norm_viz/cube/static.py draws the same picture on the server (tests hold the two SVGs equal).
// data.mode "mark" (the quiz): a click marks or unmarks a cell instead; "view": clicks choose nothing.

const STATES = new Map(); // per cube id: what the browser shows (cell, norm, view, last command revision)
const LIT = ["#F5C26B", "#E69F00", "#B57A00"]; // front, top and side faces of the lit block (theme.LIT_SHADES)
const CHOSEN = ["#F08A4B", "#D55E00", "#A34700"]; // the chosen cell (theme.SELECTED)
const PAD = "#CC79A7"; // padding (theme.PAD)
const MARK = ["#56B4E9", "#0072B2", "#004C7A"]; // cells marked as an answer (theme.INPUT)
const VIEWS = {
  right: { icon: "↗", title: "batch goes back to the right", dx: 0.62, dy: 0.42 },
  left: { icon: "↖", title: "batch goes back to the left", dx: -0.62, dy: 0.42 },
  above: { icon: "⤒", title: "seen from higher up", dx: 0.3, dy: 0.78 },
};

/** The half-open [[b0, b1], [s0, s1], [f0, f1]] box sharing `cell`'s statistic: the tile of the rule's block
 * (computed by Python from table.lit_box) that holds the cell. No norm is named here. */
export function litBox(rule, cell) {
  return cell.map((i, a) => {
    const w = rule.block[a];
    return [Math.floor(i / w) * w, (Math.floor(i / w) + 1) * w];
  });
}

/** Cells of a box that are real tokens (padding, past a sequence's length, feeds no statistic). */
export function realCells(box, lengths) {
  const [[b0, b1], [s0, s1], [f0, f1]] = box;
  if (!lengths.length) return (b1 - b0) * (s1 - s0) * (f1 - f0);
  let n = 0;
  for (let i = b0; i < b1; i++) n += Math.max(0, Math.min(s1, lengths[i]) - s0) * (f1 - f0);
  return n;
}

export function geometry(shape, view, width, height, mini = false) {
  const [b, s, f] = shape;
  const v = VIEWS[view] || VIEWS.right;
  // axis lengths grow with the count, gently, so that a long axis reads long without squeezing the others
  const grow = (n) => Math.max(0.45, Math.pow(n, 0.45));
  const k = Math.max(grow(s), grow(f), grow(b));
  const lw = grow(s) / k, lh = grow(f) / k, ld = (0.75 * grow(b)) / k;
  const dx = v.dx * ld, dy = v.dy * ld;
  // unit-free box, then fitted into the drawing area with margins for the labels
  const xs = [0, lw, dx, lw + dx], ys = [0, lh, dy, lh + dy];
  const w0 = Math.max(...xs) - Math.min(...xs), h0 = Math.max(...ys);
  const [ml, mr, mt, mb] = mini ? [6, 6, 6, 6] : [95, 55, 40, 55]; // room for the ticks and axis names
  const scale = Math.min((width - ml - mr) / w0, (height - mt - mb) / h0);
  const ox = ml - Math.min(0, dx) * scale + ((width - ml - mr) - w0 * scale) / 2, oy = height - mb;
  const P = (si, fi, bi) => [ox + (si / s) * lw * scale + (bi / b) * dx * scale, oy - (fi / f) * lh * scale - (bi / b) * dy * scale];
  return { P, shape, right: dx >= 0, lw: lw * scale, lh: lh * scale, dx: dx * scale, dy: dy * scale, ox, oy };
}

const pts = (ps) => ps.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ");

function faces(G, box) {
  const [[b0, b1], [s0, s1], [f0, f1]] = box;
  const P = G.P;
  const sx = G.right ? s1 : s0;
  return {
    front: [P(s0, f0, b0), P(s1, f0, b0), P(s1, f1, b0), P(s0, f1, b0)],
    top: [P(s0, f1, b0), P(s1, f1, b0), P(s1, f1, b1), P(s0, f1, b1)],
    side: [P(sx, f0, b0), P(sx, f0, b1), P(sx, f1, b1), P(sx, f1, b0)],
  };
}

function solid(G, box, shades, cls, edge) {
  const F = faces(G, box);
  return ["front", "top", "side"]
    .map((k, i) => `<polygon class="${cls}" points="${pts(F[k])}" fill="${shades[i]}" stroke="${edge}" stroke-width="1"/>`)
    .join("");
}

// every k-th index, so that labels (and grid lines) are at least `px` pixels apart along an axis `length` long
function step(n, length = 400, px = 9) {
  return Math.max(1, Math.ceil(n / Math.max(1, Math.floor(length / px))));
}

// grid lines of a back face: lines at every index (or every k-th) of its two axes
function backGrid(G, which) {
  const [b, s, f] = G.shape;
  const P = G.P;
  const sx = G.right ? 0 : s;
  const lines = [];
  const add = (a, c) => lines.push(`M${a[0].toFixed(1)},${a[1].toFixed(1)}L${c[0].toFixed(1)},${c[1].toFixed(1)}`);
  if (which === "back") {
    for (let i = 0; i <= s; i += step(s)) add(P(i, 0, b), P(i, f, b));
    for (let j = 0; j <= f; j += step(f)) add(P(0, j, b), P(s, j, b));
  } else if (which === "floor") {
    for (let i = 0; i <= s; i += step(s)) add(P(i, 0, 0), P(i, 0, b));
    for (let k = 0; k <= b; k += step(b)) add(P(0, 0, k), P(s, 0, k));
  } else {
    for (let k = 0; k <= b; k += step(b)) add(P(sx, 0, k), P(sx, f, k));
    for (let j = 0; j <= f; j += step(f)) add(P(sx, j, 0), P(sx, j, b));
  }
  return lines.join("");
}

// the shadows of a box on the floor, the back wall and the far side
function shadows(G, box, color, opacity) {
  const [b, s, f] = G.shape;
  const [[b0, b1], [s0, s1], [f0, f1]] = box;
  const P = G.P;
  const sx = G.right ? 0 : s;
  const polys = [
    [P(s0, 0, b0), P(s1, 0, b0), P(s1, 0, b1), P(s0, 0, b1)],
    [P(s0, f0, b), P(s1, f0, b), P(s1, f1, b), P(s0, f1, b)],
    [P(sx, f0, b0), P(sx, f0, b1), P(sx, f1, b1), P(sx, f1, b0)],
  ];
  return polys.map((p) => `<polygon points="${pts(p)}" fill="${color}" fill-opacity="${opacity}"/>`).join("");
}

function ticks(G) {
  const [b, s, f] = G.shape;
  const P = G.P;
  const out = [];
  const t = (x, y, text, anchor) => out.push(`<text class="tick" x="${x.toFixed(1)}" y="${y.toFixed(1)}" text-anchor="${anchor}">${text}</text>`);
  const depth = Math.hypot(G.dx, G.dy);
  for (let i = 0; i < s; i += step(s, G.lw, 22)) { const [x, y] = P(i + 0.5, 0, 0); t(x, y + 16, i, "middle"); }
  for (let j = 0; j < f; j += step(f, G.lh, 16)) { const [x, y] = P(0, j + 0.5, 0); t(x - 6, y + 4, j, "end"); }
  const se = G.right ? s : 0;
  for (let k = 0; k < b; k += step(b, depth, 16)) {
    const [x, y] = P(se, 0, k + 0.5);
    t(x + (G.right ? 8 : -8), y + 12, k, G.right ? "start" : "end");
  }
  const [x1, y1] = P(s / 2, 0, 0);
  out.push(`<text class="axis" x="${x1.toFixed(1)}" y="${(y1 + 36).toFixed(1)}" text-anchor="middle">sequence (s) →</text>`);
  const [x2, y2] = P(0, f / 2, 0);
  out.push(`<text class="axis" x="${(x2 - 34).toFixed(1)}" y="${y2.toFixed(1)}" text-anchor="middle" transform="rotate(-90 ${(x2 - 34).toFixed(1)} ${y2.toFixed(1)})">feature (f) →</text>`);
  const [x3, y3] = P(se, 0, b / 2);
  const ang = (Math.atan2(-G.dy, G.dx) * 180) / Math.PI;
  const a = G.right ? ang : ang + 180;
  const bx = x3 + (G.right ? 30 : -30), by = y3 + 26;
  out.push(`<text class="axis" x="${bx.toFixed(1)}" y="${by.toFixed(1)}" text-anchor="middle" transform="rotate(${a.toFixed(1)} ${bx.toFixed(1)} ${by.toFixed(1)})">batch (b) →</text>`);
  return out.join("");
}

// padding: its footprint on the floor (every pad token, all features), and, solid, the padded part of the lit block
function padding(G, lengths, box) {
  const [, s] = G.shape;
  const [[b0, b1], [s0, s1], [f0, f1]] = box;
  let floor = "", solidPads = "";
  for (let i = lengths.length - 1; i >= 0; i--) { // from the back to the front, so that nearer pads cover farther ones
    const len = lengths[i];
    if (len >= s) continue;
    const P = G.P;
    floor += `<polygon points="${pts([P(len, 0, i), P(s, 0, i), P(s, 0, i + 1), P(len, 0, i + 1)])}" fill="${PAD}" fill-opacity="0.55"/>`;
    const lo = Math.max(len, s0);
    if (i >= b0 && i < b1 && lo < s1) solidPads += solid(G, [[i, i + 1], [lo, s1], [f0, f1]], [PAD, PAD, PAD], "pad", "#6B2C55");
  }
  return { floor, solidPads };
}

// which cell a point of the drawing picks: the front face sets (s, f), the top (b, s), the side (b, f); the
// third index is the chosen cell's
function pick(G, x, y, cell) {
  const [b, s, f] = G.shape;
  const fl = Math.floor;
  const inside = (v, n) => v >= 0 && v < n;
  const u = (x - G.ox) / G.lw, w = (G.oy - y) / G.lh; // front face: b = 0
  if (inside(u, 1) && inside(w, 1)) return { face: "front", cell: [cell[0], fl(u * s), fl(w * f)] };
  if (G.dy > 0) {
    const kb = (G.oy - y - G.lh) / G.dy; // top face: f = F
    const us = (x - G.ox - kb * G.dx) / G.lw;
    if (inside(kb, 1) && inside(us, 1)) return { face: "top", cell: [fl(kb * b), fl(us * s), cell[2]] };
  }
  if (G.dx !== 0) {
    const kb = (x - G.ox - (G.right ? G.lw : 0)) / G.dx; // side face: s = S (or 0)
    const wf = (G.oy - y - kb * G.dy) / G.lh;
    if (inside(kb, 1) && inside(wf, 1)) return { face: "side", cell: [fl(kb * b), cell[1], fl(wf * f)] };
  }
  return null;
}

// marked cells, far to near, so that nearer voxels cover farther ones
function marked(G, marks) {
  const order = marks.slice().sort((p, q) => q[0] - p[0] || p[2] - q[2] || (G.right ? p[1] - q[1] : q[1] - p[1]));
  return order.map(([i, j, k]) => solid(G, [[i, i + 1], [j, j + 1], [k, k + 1]], MARK, "mark", "#00324F")).join("");
}

/** The cube as SVG markup (without the <svg> element) and the lit box: what render() and static.py draw. */
export function drawCube(st, data, width, height) {
  const shape = data.shape;
  const [b, s, f] = shape;
  const rule = data.rules[st.norm];
  const G = geometry(shape, st.view, width, height);
  const box = litBox(rule, st.cell);
  const lit = data.lit !== false && st.lit !== false && rule.statistic;
  const one = [[st.cell[0], st.cell[0] + 1], [st.cell[1], st.cell[1] + 1], [st.cell[2], st.cell[2] + 1]];
  const whole = [[0, b], [0, s], [0, f]];
  const P = G.P;
  const sx = G.right ? 0 : s;
  const back = [
    [P(0, 0, b), P(s, 0, b), P(s, f, b), P(0, f, b)],
    [P(0, 0, 0), P(s, 0, 0), P(s, 0, b), P(0, 0, b)],
    [P(sx, 0, 0), P(sx, 0, b), P(sx, f, b), P(sx, f, 0)],
  ];
  let svg = back.map((p) => `<polygon class="wall" points="${pts(p)}"/>`).join("");
  svg += `<path class="grid" d="${backGrid(G, "back")}${backGrid(G, "floor")}${backGrid(G, "far")}"/>`;
  if (lit) svg += shadows(G, box, LIT[1], 0.45);
  svg += shadows(G, one, CHOSEN[1], 0.8);
  const lengths = rule.masked ? data.lengths : [];
  const pads = padding(G, lengths, box);
  svg += pads.floor;
  if (lit) svg += solid(G, box, LIT, "lit", "#7A5200") + pads.solidPads;
  svg += solid(G, one, CHOSEN, "chosen", "#5A2600");
  svg += marked(G, data.marks || []);
  if (st.hover) {
    const h = st.hover;
    const row = h.face === "front" ? [[0, b], [h.cell[1], h.cell[1] + 1], [h.cell[2], h.cell[2] + 1]]
      : h.face === "top" ? [[h.cell[0], h.cell[0] + 1], [h.cell[1], h.cell[1] + 1], [0, f]]
      : [[h.cell[0], h.cell[0] + 1], [0, s], [h.cell[2], h.cell[2] + 1]];
    svg += solid(G, row, ["none", "none", "none"], "row", "currentColor");
    const c = h.cell;
    svg += solid(G, [[c[0], c[0] + 1], [c[1], c[1] + 1], [c[2], c[2] + 1]], CHOSEN, "ghost", "#5A2600");
  }
  const F = faces(G, whole);
  svg += ["front", "top", "side"].map((k) => `<polygon class="glass" points="${pts(F[k])}"/>`).join("");
  svg += ticks(G);
  return { svg, box, G };
}

export function drawMini(data, key, cell) {
  const [b, s, f] = data.shape;
  const G = geometry(data.shape, "right", 120, 84, true);
  const box = litBox(data.rules[key], cell);
  const F = faces(G, [[0, b], [0, s], [0, f]]);
  let svg = ["front", "top", "side"].map((k) => `<polygon class="mini-face" points="${pts(F[k])}"/>`).join("");
  if (data.rules[key].statistic) svg += solid(G, box, LIT, "", "#7A5200");
  else svg += solid(G, [[cell[0], cell[0] + 1], [cell[1], cell[1] + 1], [cell[2], cell[2] + 1]], CHOSEN, "", "#5A2600");
  return svg;
}

const esc = (t) => String(t).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function summary(st, data, box) {
  const rule = data.rules[st.norm];
  const c = `(b, s, f) = (${st.cell.join(", ")})`;
  if (data.mode === "mark") {
    const n = (data.marks || []).length;
    return `Question cell ${c} (dark orange). <b>${n} cell${n === 1 ? "" : "s"} marked</b> (blue): click a cell to mark or unmark it.`;
  }
  if (data.lit === false || st.lit === false) return `The chosen cell ${c} (dark orange).`;
  if (!rule.statistic) return `<b>${esc(rule.label)}</b>: no statistic; cell ${c} is transformed on its own.`;
  const n = (box[0][1] - box[0][0]) * (box[1][1] - box[1][0]) * (box[2][1] - box[2][0]);
  const real = rule.masked ? realCells(box, data.lengths) : n;
  const pads = n - real;
  const more = pads ? `, ${pads} of them padding (pink, not counted)` : "";
  return `<b>${esc(rule.label)}</b>: cell ${c} shares one statistic with the <b>${n} cells</b> of the orange block${more}.`;
}

function render(root, st, data) {
  const width = Math.max(320, root.clientWidth || 640);
  const main = root.querySelector("svg.main");
  const height = heightOf(data, width, main);
  const { svg, box } = drawCube(st, data, width, height);
  const lit = box.map((r) => r.join(",")).join(",");
  root.dataset.norm = st.norm;
  root.dataset.cell = st.cell.join(",");
  root.dataset.lit = data.lit === false || st.lit === false || !data.rules[st.norm].statistic ? "" : lit; // nothing lit
  root.dataset.marks = JSON.stringify(st.marks || []);
  root.dataset.height = String(height);
  root.dataset.view = st.view;
  root.dataset.renders = String((Number(root.dataset.renders) || 0) + 1);
  root.querySelector(".summary").innerHTML = summary(st, data, box);
  main.setAttribute("viewBox", `0 0 ${width} ${height}`);
  main.setAttribute("height", String(height));
  main.innerHTML = svg;
  root.querySelectorAll(".views button").forEach((btn) => btn.setAttribute("aria-pressed", String(btn.dataset.view === st.view)));
  const strip = root.querySelector(".multiples");
  strip.hidden = !data.multiples;
  if (data.multiples) {
    strip.querySelectorAll("button").forEach((btn) => {
      btn.querySelector("svg").innerHTML = drawMini(data, btn.dataset.norm, st.cell);
      btn.setAttribute("aria-pressed", String(btn.dataset.norm === st.norm));
    });
  }
  root.dataset.drawnAt = String(performance.now());
  // where a cell of a face is on screen (client pixels): for tests and the browser benchmark
  root.__locate = (face, [cb, cs, cf]) => {
    const G = geometry(data.shape, st.view, width, height);
    const [b, s, f] = data.shape;
    const at = face === "front" ? G.P(cs + 0.5, cf + 0.5, 0) : face === "top" ? G.P(cs + 0.5, f, cb + 0.5) : G.P(G.right ? s : 0, cf + 0.5, cb + 0.5);
    const r = main.getBoundingClientRect();
    const k = Math.min(r.width / width, r.height / height);
    return { x: r.left + (r.width - width * k) / 2 + at[0] * k, y: r.top + (r.height - height * k) / 2 + at[1] * k };
  };
}

// the drawing's height: data.height, or (data.fit > 0) up to that fraction of the window's height, as far as the
// window's first screen reaches below the drawing's top (on a projector the whole cube is in the first screen), and
// never less than data.height
function heightOf(data, width, main) {
  if (!(data.fit > 0)) return data.height;
  let top = main.getBoundingClientRect().top + window.scrollY;
  for (let n = main.parentNode; n; n = n.parentNode || n.host) top += n.scrollTop || 0; // where it is on the page
  const room = window.innerHeight - top - 12;
  return Math.round(Math.max(data.height, Math.min(window.innerHeight * data.fit, room, width * 0.9)));
}

function build(root, data) {
  const views = Object.entries(VIEWS)
    .map(([k, v]) => `<button type="button" data-view="${k}" title="${v.title}">${v.icon}</button>`)
    .join("");
  const minis = Object.entries(data.rules)
    .map(([k, r]) => `<button type="button" data-norm="${k}" title="Show ${esc(r.label)}"><svg viewBox="0 0 120 84" width="120" height="84"></svg><span>${esc(r.label)}</span></button>`)
    .join("");
  root.innerHTML = `
    <div class="head"><div class="summary" aria-live="polite"></div><div class="views" role="group" aria-label="view">${views}</div></div>
    <svg class="main" width="100%" preserveAspectRatio="xMidYMid meet" role="img" aria-label="the tensor as a cube"></svg>
    <div class="hint">${data.mode === "view" ? "Orange: the cells averaged together with the chosen (dark orange) cell." : `Click the front face to ${data.mode === "mark" ? "mark" : "choose"} (s, f), the top (b, s), the side (b, f); the third index is the dark orange cell's.${data.mode === "mark" ? "" : " Orange: the cells averaged together with the chosen (dark orange) cell."}`}</div>
    <div class="multiples" role="group" aria-label="choose a norm">${minis}</div>`;
  root.dataset.shape = data.shape.join(",");
  root.dataset.norms = Object.keys(data.rules).join(",");
}

/** Take the page's command (cell, norm) when it is newer than the last one taken; true when taken. */
function apply(st, cmd) {
  if (!cmd || cmd.rev <= st.rev) return false;
  st.rev = cmd.rev;
  st.cell = cmd.cell.slice();
  st.norm = cmd.norm;
  st.lit = cmd.lit !== false;
  return true;
}

function point(svg, ev) {
  const r = svg.getBoundingClientRect();
  const vb = svg.viewBox.baseVal;
  const k = Math.min(r.width / vb.width, r.height / vb.height);
  const ox = (r.width - vb.width * k) / 2, oy = (r.height - vb.height * k) / 2;
  return [(ev.clientX - r.left - ox) / k, (ev.clientY - r.top - oy) / k];
}

export default function (component) {
  const { data, parentElement } = component;
  if (!data || !data.shape) return;
  const id = data.id || "cube";
  let root = parentElement.querySelector(".nvcube");
  const signature = data.shape.join(",") + "|" + Object.keys(data.rules).join(",") + "|" + data.mode;
  if (!root) {
    root = document.createElement("div");
    root.className = "nvcube";
    parentElement.appendChild(root);
  }
  if (root.dataset.signature !== signature) {
    build(root, data);
    root.dataset.signature = signature;
  }
  let st = STATES.get(id);
  if (!st) {
    st = { rev: -1, cell: null, norm: null, view: "right", hover: null };
    STATES.set(id, st);
  }
  apply(st, (window.__nvcubeCmd || {})[id]); // the page's cell and norm come from the command component
  st.marks = (data.marks || []).map((c) => c.slice()); // the page's marks: what it recorded
  if (st.cell) st.cell = st.cell.map((v, i) => Math.min(Math.max(0, v), data.shape[i] - 1));
  st.hover = null;
  root.__ctx = { component, st, data };
  const redraw = () => {
    const { st: s, data: d } = root.__ctx;
    if (s.cell && d.rules[s.norm]) render(root, s, d); // nothing to draw before the first command
  };
  if (!root.__wired) {
    root.__wired = true;
    window.addEventListener("nvcube-cmd", (ev) => {
      const { st: s, data: d } = root.__ctx;
      if (ev.detail.id !== (d.id || "cube") || !apply(s, ev.detail)) return;
      s.cell = s.cell.map((v, i) => Math.min(Math.max(0, v), d.shape[i] - 1));
      redraw();
    });
    const report = () => {
      const { component: c, st: s } = root.__ctx;
      c.setTriggerValue("pick", { cell: s.cell.slice(), norm: s.norm, marks: s.marks.map((m) => m.slice()) });
    };
    const main = root.querySelector("svg.main");
    root.addEventListener("click", (ev) => {
      const { st: s, data: d } = root.__ctx;
      const view = ev.target.closest("button[data-view]");
      if (view) {
        s.view = view.dataset.view;
        redraw();
        if (d.report_view) root.__ctx.component.setStateValue("view", s.view); // e.g. Export draws this view
        return;
      }
      const mini = ev.target.closest("button[data-norm]");
      if (mini) {
        if (mini.dataset.norm === s.norm) return;
        s.norm = mini.dataset.norm;
        redraw();
        report();
        return;
      }
      if (ev.target.closest("svg.main") && d.mode !== "view") {
        const vb = main.viewBox.baseVal;
        const G = geometry(d.shape, s.view, vb.width, vb.height);
        const [x, y] = point(main, ev);
        const hit = pick(G, x, y, s.cell);
        if (!hit) return;
        if (d.mode === "mark") { // mark or unmark the cell; the question's cell stays the dark orange one
          const at = s.marks.findIndex((m) => m.join() === hit.cell.join());
          if (at >= 0) s.marks.splice(at, 1);
          else s.marks.push(hit.cell);
          d.marks = s.marks;
        } else {
          if (hit.cell.join() === s.cell.join()) return;
          s.cell = hit.cell;
        }
        s.hover = null;
        redraw();
        report();
      }
    });
    main.addEventListener("pointermove", (ev) => {
      const { st: s, data: d } = root.__ctx;
      if (d.mode === "view") return;
      const vb = main.viewBox.baseVal;
      const G = geometry(d.shape, s.view, vb.width, vb.height);
      const hit = pick(G, ...point(main, ev), s.cell);
      const before = s.hover ? s.hover.face + s.hover.cell.join() : "";
      const now = hit ? hit.face + hit.cell.join() : "";
      if (before === now) return;
      s.hover = hit;
      main.style.cursor = hit ? "pointer" : "default";
      redraw();
    });
    main.addEventListener("pointerleave", () => {
      if (!root.__ctx.st.hover) return;
      root.__ctx.st.hover = null;
      redraw();
    });
    window.addEventListener("resize", () => { if (root.__ctx.data.fit > 0) redraw(); });
    // a cube sized to the first screen fits again when the page above it changes height after it was drawn (a page
    // reached by a link drew it while the elements above were still arriving: it then ended below the screen)
    const page = document.querySelector('[data-testid="stMainBlockContainer"]');
    if (page && typeof ResizeObserver !== "undefined") {
      new ResizeObserver(() => {
        const { data: d } = root.__ctx;
        const main = root.querySelector("svg.main");
        if (d.fit > 0 && String(heightOf(d, Math.max(320, root.clientWidth || 640), main)) !== root.dataset.height) redraw();
      }).observe(page);
    }
    if (typeof ResizeObserver !== "undefined") {
      let lastWidth = 0;
      new ResizeObserver(() => {
        if (Math.abs(root.clientWidth - lastWidth) < 4) return;
        lastWidth = root.clientWidth;
        redraw();
      }).observe(root);
    }
  }
  redraw();
}
