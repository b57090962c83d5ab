// What the interaction pages share: status badges for the interaction status set (any status
// the API sends is shown, a new one with a neutral style), results bubbles, trigger summaries,
// the API's problem lists, and confirmed actions.

import { clear, errorBanner, h, openDialog, s, timeElement } from "./ui.js";

// The documented statuses by tone; a status not listed here is shown as it is, neutral.
const TONES = {
  "Playing": "running",
  "Trigger Requested": "running",
  "Resume Play Requested": "running",
  "Counting Down Delay": "running",
  "Rollback Requested": "running",
  "Rolling Back": "running",
  "Completed": "succeeded",
  "Test Completed": "succeeded",
  "Rolled Back": "succeeded",
  "Failed": "failed",
  "Test Failed": "failed",
  "Rollback Failed": "failed",
  "Pause Requested": "paused",
  "Pausing": "paused",
  "Paused": "paused",
  "Stop Requested": "stopping",
  "Stopping": "stopping",
  "Stopped": "stopped",
  "Terminated": "stopped",
  "Waiting For Trigger": "pending",
  "Waiting Next Trigger": "pending",
  "Test Mode": "pending",
  "Queued": "pending",
};

// Statuses after which nothing more happens to an instance (until a rollback).
export const FINAL = new Set(["Completed", "Test Completed", "Failed", "Test Failed", "Stopped", "Rolled Back", "Rollback Failed"]);
export const PLAYING = new Set(["Playing", "Counting Down Delay", "Resume Play Requested", "Trigger Requested", "Queued"]);
export const HELD = new Set(["Pause Requested", "Pausing", "Paused"]);
export const ROLLBACK_FROM = new Set(["Completed", "Failed", "Stopped"]);

export function tone(status) {
  return TONES[status] || "neutral";
}

export function isLive(status) {
  return Boolean(status) && !FINAL.has(status) && status !== "Waiting For Trigger" && status !== "Waiting Next Trigger" && status !== "Test Mode";
}

const ICONS = {
  running: [["circle", { cx: 8, cy: 8, r: 6, fill: "none", "stroke-width": 2, "stroke-dasharray": "28 10" }]],
  succeeded: [["circle", { cx: 8, cy: 8, r: 7 }], ["path", { d: "M4.8 8.2l2.1 2.1 4.3-4.5", fill: "none", stroke: "#fff", "stroke-width": 1.8 }]],
  failed: [["circle", { cx: 8, cy: 8, r: 7 }], ["path", { d: "M5.5 5.5l5 5m0-5l-5 5", fill: "none", stroke: "#fff", "stroke-width": 1.8 }]],
  paused: [["rect", { x: 3.5, y: 3, width: 3, height: 10, rx: 1 }], ["rect", { x: 9.5, y: 3, width: 3, height: 10, rx: 1 }]],
  stopping: [["rect", { x: 4, y: 4, width: 8, height: 8, rx: 1.5, fill: "none", "stroke-width": 2 }]],
  stopped: [["rect", { x: 3.5, y: 3.5, width: 9, height: 9, rx: 1.5 }]],
  pending: [["circle", { cx: 8, cy: 8, r: 6, fill: "none", "stroke-width": 1.6 }]],
  neutral: [["circle", { cx: 8, cy: 8, r: 3 }]],
};

// A status as icon and text; `status-<tone>` gives the colours, data-status the status itself.
export function ixBadge(status) {
  if (!status) return h("span", { class: "status status-neutral", "data-status": "" }, "Not run yet");
  const t = tone(status);
  const icon = s(
    "svg",
    { class: `icon`, viewBox: "0 0 16 16", width: 16, height: 16, "aria-hidden": "true", focusable: "false" },
    ICONS[t].map(([tag, attrs]) => s(tag, attrs)),
  );
  return h("span", { class: `status status-${t}`, "data-status": status }, icon, h("span", {}, status));
}

// Results bubbles: 1,203,492 -> 1.2M, 75,854 -> 75.9K, 999 -> 999 (as the API's `bubble`).
export function formatCount(n) {
  const value = Number(n);
  if (!Number.isFinite(value)) return "";
  if (value < 1000) return String(Math.round(value));
  for (const [unit, suffix] of [[1e3, "K"], [1e6, "M"], [1e9, "B"]]) {
    const shown = Math.round((value / unit) * 10) / 10;
    if (shown < 1000 || suffix === "B") return `${shown}${suffix}`;
  }
  return String(value);
}

export function bubble(activity) {
  if (activity.count === null || activity.count === undefined) return null;
  const text = activity.bubble || formatCount(activity.count);
  const full = Number(activity.count).toLocaleString("en-US");
  return h("span", { class: "bubble", title: `${full} records`, "data-count": String(activity.count) }, text, h("span", { class: "visually-hidden" }, ` (${full} records)`));
}

export function formatRemaining(seconds) {
  const total = Math.max(0, Math.ceil(Number(seconds)));
  const d = Math.floor(total / 86400);
  const hh = Math.floor((total % 86400) / 3600);
  const mm = Math.floor((total % 3600) / 60);
  const ss = total % 60;
  if (d) return `${d} d ${hh} h ${String(mm).padStart(2, "0")} min`;
  if (hh) return `${hh} h ${String(mm).padStart(2, "0")} min`;
  if (mm) return `${mm} min ${String(ss).padStart(2, "0")} s`;
  return `${ss} s`;
}

export const ACTIVITY_TYPES = {
  batch_audience: "Audience",
  interactive_audience: "Interactive audience",
  offer: "Offer",
  control: "Control",
  export: "Export",
  delay: "Delay",
  decision_offer: "Decision offer",
  wait_for_event: "Wait for event",
  data_process: "Data process",
  data_transfer: "Data transfer",
};

export function activityType(type) {
  return ACTIVITY_TYPES[type] || (type ? type.replaceAll("_", " ") : "Activity");
}

export const TRIGGER_KINDS = { manual: "Manual", scheduled: "Scheduled", recurring: "Recurring", activity_state: "Activity state" };

export function triggerKind(trigger) {
  const kind = (trigger && trigger.kind) || "manual";
  return TRIGGER_KINDS[kind] || kind.replaceAll("_", " ");
}

// One line saying when the trigger fires.
export function triggerSummary(trigger) {
  const t = trigger || { kind: "manual" };
  const zone = t.time_zone && t.time_zone !== "UTC" ? ` (${t.time_zone})` : t.time_zone ? " (UTC)" : "";
  if (t.kind === "manual") return "Fired by hand";
  if (t.kind === "scheduled") return `Once at ${t.at || "—"}${zone}`;
  if (t.kind === "recurring") {
    const end = t.end_after ? `, ends after ${t.end_after} fires` : t.end_by ? `, ends by ${t.end_by}` : ", never ends";
    return `${t.expression || "—"}${zone}${end}`;
  }
  if (t.kind === "activity_state") {
    const watch = t.watch || {};
    return `When workflow ${watch.workflow_key || "?"}${watch.design_id ? ` of design ${watch.design_id}` : ""} ends ${(watch.states || ["Completed"]).join(" or ")}`;
  }
  return Object.entries(t)
    .filter(([k, v]) => k !== "kind" && v !== null && v !== undefined && typeof v !== "object")
    .map(([k, v]) => `${k.replaceAll("_", " ")}: ${v}`)
    .join(", ");
}

export function constraintSummary(c) {
  if (c.kind === "database_count") {
    const rules = (c.rules || []).map((r) => `${r.column} ${r.operator}${r.value !== undefined && r.value !== null ? ` ${JSON.stringify(r.value)}` : ""}`).join(c.match === "any" ? " or " : " and ");
    return `${c.name ? `${c.name}: ` : ""}count of ${c.resolution_level || "records"}${rules ? ` where ${rules}` : ""} ${c.operator} ${c.value}`;
  }
  if (c.kind === "external") return `${c.name ? `${c.name}: ` : ""}an external call to POST /api/triggers/{guid}`;
  return `${c.name ? `${c.name}: ` : ""}${String(c.kind || "constraint").replaceAll("_", " ")}`;
}

// The API's error with its problem list (validation: each problem by its path in the design).
export function problemsBanner(error) {
  const problems = (error && error.details && error.details.problems) || [];
  if (!problems.length) return errorBanner(error);
  // The message lists the problems again: its headline is what comes before the first of them.
  const at = problems[0].path ? error.message.indexOf(problems[0].path) : -1;
  const head = at > 0 ? error.message.slice(0, at).trim().replace(/[:;,]$/, "") : error.message;
  return errorBanner({ message: /[.!?]$/.test(head) ? head : `${head}.`, code: error.code }, problemList(problems));
}

export function problemList(problems) {
  return h(
    "ul",
    { class: "problems" },
    problems.map((p) =>
      h(
        "li",
        { "data-path": p.path || "", "data-severity": p.severity || "error" },
        h("span", { class: `severity severity-${p.severity === "warning" ? "warning" : "error"}` }, p.severity === "warning" ? "Warning" : "Error"),
        " ",
        p.path ? h("code", { class: "path" }, p.path) : null,
        " ",
        h("span", {}, p.message),
        p.code ? h("span", { class: "muted small" }, ` (${p.code})`) : null,
      ),
    ),
  );
}

// A confirmation dialog whose button runs `action`; the API's refusal stays in the dialog.
export function confirmAction({ title, text, button, danger = false, action, done }) {
  const go = h("button", { type: "button", class: danger ? "danger" : "primary" }, button);
  const status = h("div", { class: "dialog-status" });
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
  // The page may have been drawn again meanwhile: focus returns to the control with the same id.
  const openerId = document.activeElement && document.activeElement.id;
  const onClose = () =>
    setTimeout(() => {
      const again = openerId && document.getElementById(openerId);
      if (again && (document.activeElement === document.body || !document.activeElement)) again.focus();
    });
  const d = openDialog({ title, body: [typeof text === "string" ? h("p", {}, text) : text, status], actions: [cancel, go], onClose });
  cancel.addEventListener("click", () => d.close());
  go.addEventListener("click", async () => {
    go.disabled = true;
    go.textContent = `${button}…`;
    try {
      const result = await action();
      d.close();
      if (done) await done(result);
    } catch (exc) {
      clear(status, problemsBanner(exc));
      go.disabled = false;
      go.textContent = button;
      status.querySelector("[role=alert]")?.focus?.();
    }
  });
  go.focus();
  return d;
}

export function when(value) {
  return value ? timeElement(value) : h("span", {}, "—");
}

// Re-rendering on refresh keeps the focus on the control with the same id.
export function keepFocus(render) {
  const id = document.activeElement && document.activeElement.id;
  render();
  if (id && document.activeElement === document.body) {
    const again = document.getElementById(id);
    if (again) again.focus({ preventScroll: true });
  }
}
