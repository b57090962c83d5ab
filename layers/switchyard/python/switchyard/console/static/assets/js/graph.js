// The workflow graph: every task a node (one column per stage), an arrow to the task that runs
// after it, coloured by status. Zoom with the wheel, the buttons or +/-; pan by dragging or
// with the arrow keys; click (or Enter on) a node for its details. Close returns to the run.

import { api } from "./api.js";
import { href, navigate } from "./nav.js";
import { STATUS_LABELS, clear, errorBanner, formatDuration, h, loading, s, statusBadge, timeElement } from "./ui.js";

const NODE_W = 200;
const NODE_H = 58;
const COL_GAP = 90;
const ROW_GAP = 28;
const PAD = 40;
const HEAD = 40;
const LEGEND = ["failed", "stopped", "succeeded", "warning", "running", "skipped", "pending"];

export async function render(main, { id }) {
  let stopped = false;
  let timer = null;
  let view = { x: 0, y: 0, k: 1 };
  let selected = null;
  let run = null;

  const title = h("h1", {}, "Workflow graph");
  const closeButton = h("button", { type: "button", class: "secondary", onclick: () => navigate(`workflows/${encodeURIComponent(id)}`) }, "Close");
  const zoomIn = h("button", { type: "button", class: "secondary", "aria-label": "Zoom in" }, "+");
  const zoomOut = h("button", { type: "button", class: "secondary", "aria-label": "Zoom out" }, "−");
  const reset = h("button", { type: "button", class: "secondary" }, "Fit");
  const legend = h(
    "ul",
    { class: "legend", "aria-label": "Colours" },
    LEGEND.map((st) => h("li", {}, h("span", { class: `swatch node-${st}`, "aria-hidden": "true" }), STATUS_LABELS[st])),
  );
  const svg = s("svg", {
    class: "graph",
    role: "group",
    tabindex: "0",
    "aria-label": "Workflow graph. Use the arrow keys to pan, plus and minus to zoom, Tab to move between tasks.",
  });
  const world = s("g", { class: "world" });
  svg.append(
    s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, s("path", { d: "M0 0L10 5L0 10z", class: "arrow-head" }))),
    world,
  );
  const details = h("aside", { class: "node-details card", "aria-live": "polite", "aria-label": "Task details" }, h("p", { class: "muted" }, "Select a task to see its details."));
  const status = h("div");

  clear(
    main,
    h("p", { class: "breadcrumb" }, h("a", { href: href("workflows") }, "Workflows"), " › ", h("a", { href: href(`workflows/${encodeURIComponent(id)}`), class: "crumb-run" }, "Workflow"), " › Graph"),
    h("div", { class: "page-head" }, title, h("div", { class: "actions" }, zoomOut, zoomIn, reset, closeButton)),
    status,
    legend,
    h("div", { class: "graph-layout" }, h("div", { class: "graph-frame" }, svg), details),
  );
  clear(status, loading("Loading the graph…"));

  function apply() {
    world.setAttribute("transform", `translate(${view.x} ${view.y}) scale(${view.k})`);
  }

  function zoom(factor, cx, cy) {
    const rect = svg.getBoundingClientRect();
    const px = cx ?? rect.width / 2;
    const py = cy ?? rect.height / 2;
    const k = Math.min(3, Math.max(0.25, view.k * factor));
    view = { k, x: px - ((px - view.x) * k) / view.k, y: py - ((py - view.y) * k) / view.k };
    apply();
  }

  function fit(width, height) {
    const rect = svg.getBoundingClientRect();
    const k = Math.min(1.2, Math.max(0.25, Math.min(rect.width / width, rect.height / height)));
    view = { k, x: (rect.width - width * k) / 2, y: Math.max(0, (rect.height - height * k) / 2) };
    apply();
  }

  zoomIn.addEventListener("click", () => zoom(1.25));
  zoomOut.addEventListener("click", () => zoom(0.8));
  svg.addEventListener(
    "wheel",
    (e) => {
      e.preventDefault();
      const rect = svg.getBoundingClientRect();
      zoom(e.deltaY < 0 ? 1.1 : 0.9, e.clientX - rect.left, e.clientY - rect.top);
    },
    { passive: false },
  );
  let drag = null;
  svg.addEventListener("pointerdown", (e) => {
    if (e.target.closest(".node")) return;
    drag = { x: e.clientX, y: e.clientY, vx: view.x, vy: view.y };
    svg.setPointerCapture(e.pointerId);
    svg.classList.add("dragging");
  });
  svg.addEventListener("pointermove", (e) => {
    if (!drag) return;
    view = { ...view, x: drag.vx + e.clientX - drag.x, y: drag.vy + e.clientY - drag.y };
    apply();
  });
  const endDrag = () => {
    drag = null;
    svg.classList.remove("dragging");
  };
  svg.addEventListener("pointerup", endDrag);
  svg.addEventListener("pointercancel", endDrag);
  svg.addEventListener("keydown", (e) => {
    const step = 40;
    const moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    if (moves[e.key] && !e.target.closest(".node")) {
      e.preventDefault();
      view = { ...view, x: view.x + moves[e.key][0], y: view.y + moves[e.key][1] };
      apply();
    } else if (e.key === "+" || e.key === "=") {
      e.preventDefault();
      zoom(1.25);
    } else if (e.key === "-") {
      e.preventDefault();
      zoom(0.8);
    }
  });

  function task(nodeId) {
    for (const stage of run.stages) for (const t of stage.tasks) if (t.id === nodeId) return t;
    return null;
  }

  function showDetails(node) {
    selected = node.id;
    for (const el of world.querySelectorAll(".node")) el.classList.toggle("selected", el.dataset.id === node.id);
    const t = task(node.id);
    const duration = t && t.started_at && t.ended_at ? formatDuration((new Date(t.ended_at) - new Date(t.started_at)) / 1000) : "—";
    clear(
      details,
      h("h2", {}, node.label),
      h(
        "dl",
        { class: "pairs" },
        h("dt", {}, "Status"), h("dd", {}, statusBadge(node.status)),
        h("dt", {}, "Stage"), h("dd", {}, node.stage),
        h("dt", {}, "Kind"), h("dd", {}, node.kind),
        h("dt", {}, "Started"), h("dd", {}, timeElement(t && t.started_at)),
        h("dt", {}, "Duration"), h("dd", {}, duration),
        t && t.attempts ? [h("dt", {}, "Attempts"), h("dd", {}, String(t.attempts))] : null,
      ),
      t && t.error ? h("div", { class: "banner error" }, h("p", {}, t.error.message), h("p", { class: "muted small" }, `Error code: ${t.error.code}`)) : null,
      t && t.warnings.length ? h("ul", { class: "task-warnings" }, t.warnings.map((w) => h("li", {}, w))) : null,
    );
  }

  function draw(graph) {
    const stages = [];
    const byStage = new Map();
    for (const node of graph.nodes) {
      if (!byStage.has(node.stage)) {
        byStage.set(node.stage, []);
        stages.push(node.stage);
      }
      byStage.get(node.stage).push(node);
    }
    const pos = new Map();
    stages.forEach((stage, col) => byStage.get(stage).forEach((node, row) => pos.set(node.id, { x: PAD + col * (NODE_W + COL_GAP), y: PAD + HEAD + row * (NODE_H + ROW_GAP) })));
    const rows = Math.max(1, ...stages.map((st) => byStage.get(st).length));
    const width = PAD * 2 + stages.length * NODE_W + Math.max(0, stages.length - 1) * COL_GAP;
    const height = PAD * 2 + HEAD + rows * NODE_H + (rows - 1) * ROW_GAP;

    const labels = stages.map((stage, col) => s("text", { class: "stage-label", x: PAD + col * (NODE_W + COL_GAP) + NODE_W / 2, y: PAD + 12, "text-anchor": "middle" }, stage));
    const edges = graph.edges.map((edge) => {
      const a = pos.get(edge.source);
      const b = pos.get(edge.target);
      if (!a || !b) return null;
      let d;
      if (Math.abs(a.x - b.x) < 1) d = `M${a.x + NODE_W / 2} ${a.y + NODE_H} L${b.x + NODE_W / 2} ${b.y - 2}`;
      else {
        const x1 = a.x + NODE_W;
        const y1 = a.y + NODE_H / 2;
        const x2 = b.x - 2;
        const y2 = b.y + NODE_H / 2;
        const mid = (x1 + x2) / 2;
        d = `M${x1} ${y1} C${mid} ${y1} ${mid} ${y2} ${x2} ${y2}`;
      }
      return s("path", { class: "edge", d, "marker-end": "url(#arrow)", "data-source": edge.source, "data-target": edge.target });
    });
    const nodes = graph.nodes.map((node) => {
      const p = pos.get(node.id);
      const label = node.label.length > 26 ? `${node.label.slice(0, 25)}…` : node.label;
      const g = s(
        "g",
        {
          class: `node node-${node.status}${selected === node.id ? " selected" : ""}`,
          transform: `translate(${p.x} ${p.y})`,
          tabindex: "0",
          role: "button",
          "aria-label": `${node.label}, ${STATUS_LABELS[node.status] || node.status}, stage ${node.stage}`,
          "data-id": node.id,
          "data-status": node.status,
        },
        s("title", {}, `${node.label} (${STATUS_LABELS[node.status] || node.status})`),
        s("rect", { width: NODE_W, height: NODE_H, rx: 8 }),
        s("text", { x: 12, y: 24, class: "node-label" }, label),
        s("text", { x: 12, y: 44, class: "node-status" }, `${STATUS_LABELS[node.status] || node.status} · ${node.kind}`),
      );
      g.addEventListener("click", () => showDetails(node));
      g.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          showDetails(node);
        }
      });
      return g;
    });
    world.replaceChildren(...labels, ...edges.filter(Boolean), ...nodes);
    svg.setAttribute("data-nodes", String(graph.nodes.length));
    return { width, height };
  }

  let fitted = false;
  async function refresh() {
    try {
      const [graph, workflow] = await Promise.all([api("GET", `api/workflows/${encodeURIComponent(id)}/graph`), api("GET", `api/workflows/${encodeURIComponent(id)}`)]);
      if (stopped) return;
      run = workflow;
      title.textContent = `Workflow graph: ${run.name}`;
      document.title = `Graph · ${run.name} · Switchyard`;
      main.querySelector(".crumb-run").textContent = run.name;
      clear(status, graph.nodes.length ? null : h("p", { class: "muted", role: "status" }, "This run has no tasks yet."));
      const size = draw(graph);
      if (!fitted) {
        fit(size.width, size.height);
        fitted = true;
      }
      if (selected) {
        const node = graph.nodes.find((n) => n.id === selected);
        if (node) showDetails(node);
      }
      if (run.status === "running" || run.status === "stopping") timer = setTimeout(refresh, 2000);
    } catch (exc) {
      if (!stopped) clear(status, errorBanner(exc));
    }
  }
  reset.addEventListener("click", () => {
    const box = world.getBBox();
    fit(box.width + PAD * 2, box.height + PAD * 2);
  });

  await refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
