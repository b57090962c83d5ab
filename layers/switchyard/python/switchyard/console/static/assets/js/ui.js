// Small DOM helpers. Text always goes in as text (never as HTML), so data from the API cannot
// inject markup.

const SVG_NS = "http://www.w3.org/2000/svg";

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  applyAttrs(el, attrs);
  append(el, children);
  return el;
}

export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  applyAttrs(el, attrs);
  append(el, children);
  return el;
}

function applyAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.setAttribute("class", value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// --- statuses -----------------------------------------------------------------------------

export const STATUS_LABELS = {
  running: "Running",
  stopping: "Stopping",
  stopped: "Stopped",
  succeeded: "Succeeded",
  failed: "Failed",
  issue: "Succeeded with issues",
  warning: "Warning",
  skipped: "Skipped",
  pending: "Pending",
};

const ICON_PATHS = {
  running: [["circle", { cx: 8, cy: 8, r: 6, fill: "none", "stroke-width": 2, "stroke-dasharray": "28 10" }]],
  stopping: [["rect", { x: 4, y: 4, width: 8, height: 8, rx: 1.5, fill: "none", "stroke-width": 2 }]],
  stopped: [["rect", { x: 3.5, y: 3.5, width: 9, height: 9, rx: 1.5 }]],
  succeeded: [["circle", { cx: 8, cy: 8, r: 7 }], ["path", { d: "M4.8 8.2l2.1 2.1 4.3-4.5", fill: "none", stroke: "#fff", "stroke-width": 1.8 }]],
  failed: [["circle", { cx: 8, cy: 8, r: 7 }], ["path", { d: "M5.5 5.5l5 5m0-5l-5 5", fill: "none", stroke: "#fff", "stroke-width": 1.8 }]],
  issue: [["path", { d: "M8 1.5l7 12.5H1z" }], ["path", { d: "M8 6v4m0 1.6v.9", fill: "none", stroke: "#fff", "stroke-width": 1.6 }]],
  warning: [["path", { d: "M8 1.5l7 12.5H1z" }], ["path", { d: "M8 6v4m0 1.6v.9", fill: "none", stroke: "#fff", "stroke-width": 1.6 }]],
  skipped: [["path", { d: "M3 4l5 4-5 4zM8.5 4l5 4-5 4z" }]],
  pending: [["circle", { cx: 8, cy: 8, r: 6, fill: "none", "stroke-width": 1.6 }]],
};

// The status people see for a run: a run that succeeded with warnings has an issue.
export function runStatus(workflow) {
  if (workflow.status === "succeeded" && (workflow.warnings || []).length) return "issue";
  return workflow.status;
}

export function statusIcon(status) {
  const shapes = ICON_PATHS[status] || ICON_PATHS.pending;
  return s(
    "svg",
    { class: `icon status-${status}`, viewBox: "0 0 16 16", width: 16, height: 16, "aria-hidden": "true", focusable: "false" },
    shapes.map(([tag, attrs]) => s(tag, attrs)),
  );
}

export function statusBadge(status) {
  return h("span", { class: `status status-${status}`, "data-status": status }, statusIcon(status), h("span", {}, STATUS_LABELS[status] || status));
}

// --- formatting ---------------------------------------------------------------------------

const thisYear = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
const otherYear = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "long" });

export function formatTime(value) {
  if (!value) return "—";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return (date.getFullYear() === new Date().getFullYear() ? thisYear : otherYear).format(date);
}

export function timeElement(value) {
  if (!value) return h("span", {}, "—");
  const date = new Date(value);
  return h("time", { datetime: value, title: Number.isNaN(date.getTime()) ? null : full.format(date) }, formatTime(value));
}

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const total = Math.max(0, Number(seconds));
  if (total < 1) return `${Math.round(total * 1000)} ms`;
  if (total < 60) return `${total.toFixed(1)} s`;
  const h_ = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = Math.floor(total % 60);
  return h_ ? `${h_} h ${String(m).padStart(2, "0")} min` : `${m} min ${String(sec).padStart(2, "0")} s`;
}

export function runDuration(item) {
  if (item.duration_seconds !== null && item.duration_seconds !== undefined) return formatDuration(item.duration_seconds);
  if (!item.started_at) return "—";
  const elapsed = (Date.now() - new Date(item.started_at).getTime()) / 1000;
  return `${formatDuration(elapsed)} so far`;
}

export function pretty(value) {
  return JSON.stringify(value ?? null, null, 2);
}

// --- messages -----------------------------------------------------------------------------

export function errorBanner(error, extra) {
  const message = error && error.message ? error.message : String(error);
  return h(
    "div",
    { class: "banner error", role: "alert" },
    h("p", {}, message),
    error && error.code && error.code !== "network_error" ? h("p", { class: "muted small" }, `Error code: ${error.code}`) : null,
    extra,
  );
}

export function toast(message) {
  const box = document.getElementById("toasts");
  const item = h("p", { class: "toast" }, message);
  box.append(item);
  setTimeout(() => item.remove(), 6000);
}

// A modal <dialog>: focus moves into it, Escape closes it, focus returns where it was.
export function openDialog({ title, body, actions = [], onClose, wide = false, label }) {
  const opener = document.activeElement;
  const titleId = `dialog-title-${Math.random().toString(36).slice(2)}`;
  const dialog = h("dialog", { class: wide ? "dialog wide" : "dialog", "aria-labelledby": titleId });
  const close = () => dialog.close();
  const heading = h("h2", { id: titleId }, title);
  const closeButton = h("button", { type: "button", class: "icon-button", "aria-label": label || "Close dialog", onclick: close }, "×");
  const bodyBox = h("div", { class: "dialog-body" }, body);
  const footer = h("div", { class: "dialog-actions" }, actions);
  dialog.append(h("div", { class: "dialog-head" }, heading, closeButton), bodyBox, footer);
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (onClose) onClose();
    if (opener && document.contains(opener)) opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, body: bodyBox, footer, heading, close };
}

export function field({ id, label, hint, input }) {
  const hintId = hint ? `${id}-hint` : null;
  input.id = id;
  if (hintId) input.setAttribute("aria-describedby", hintId);
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("p", { class: "hint", id: hintId }, hint) : null);
}

export function setFieldError(input, message) {
  const box = input.closest(".field");
  let err = box.querySelector(".field-error");
  const hintId = `${input.id}-hint`;
  const errId = `${input.id}-error`;
  if (!message) {
    if (err) err.remove();
    input.removeAttribute("aria-invalid");
    input.setAttribute("aria-describedby", box.querySelector(".hint") ? hintId : "");
    return;
  }
  if (!err) {
    err = h("p", { class: "field-error", id: errId });
    box.append(err);
  }
  err.textContent = message;
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", [box.querySelector(".hint") ? hintId : null, errId].filter(Boolean).join(" "));
}

export function notAvailable(what) {
  return h(
    "div",
    { class: "banner info", "data-state": "not-available" },
    h("p", {}, `${what} is not available in this installation: its API is not installed yet.`),
  );
}

export function loading(text) {
  return h("p", { class: "loading", role: "status" }, text);
}
