// What a workflow's trigger did and will do, from the design's state (docs/interactions.md):
// the retry ladder of a fire that could not start an instance (`trigger_retry`), the
// single-instance recurring mode (`trigger.create`, `single_instance_id`, `completed_reason`),
// inactivity expiry (`expire_after_days_inactive`, `last_fired_at`, `expires_at`,
// `deactivated_reason`); and, on an instance, its engine runs (one per fire of a single instance).

import { api } from "./api.js";
import { href } from "./nav.js";
import { h, runStatus, statusBadge } from "./ui.js";
import { when } from "./ixui.js";

// The ladder has 20 retries after the failed fire (docs/interactions.md, the retry ladder).
export const LADDER_RETRIES = 20;

// Pairs for the workflow's details list: how instances are created, its single instance, expiry.
export function triggerStatePairs(w, pair, instanceHref) {
  const t = w.trigger || {};
  if (t.kind === "recurring") {
    pair("Each fire", t.create === "single_instance" ? "Re-runs one instance (single instance)" : "Creates a new instance");
  }
  if (w.single_instance_id !== null && w.single_instance_id !== undefined) {
    pair("Single instance", h("a", { href: instanceHref(w.single_instance_id), "aria-label": `Single instance ${w.single_instance_id} of ${w.name}` }, `#${w.single_instance_id}`));
  }
  if (w.expire_after_days_inactive) {
    const days = w.expire_after_days_inactive;
    pair("Inactivity expiry", `Deactivated after ${days} ${days === 1 ? "day" : "days"} without a fire`);
    if (w.expires_at) pair("Expires", [when(w.expires_at), " unless it fires before"]);
  }
  if (w.last_fired_at) pair("Last fired", when(w.last_fired_at));
}

// Banners saying why a workflow ended (complete, expired) and how its last fire is retried.
export function triggerStateBanners(w) {
  const out = [];
  if (w.completed_reason) {
    out.push(h("div", { class: "banner info", "data-state": "completed" }, h("p", {}, h("strong", {}, "Complete: "), w.completed_reason, " Its trigger does not fire again.")));
  }
  if (w.deactivated_reason) {
    out.push(h("div", { class: "banner warning", "data-state": "deactivated" }, h("p", {}, h("strong", {}, "Not active: "), w.deactivated_reason)));
  }
  const r = w.trigger_retry;
  if (r) {
    const gaveUp = Boolean(r.gave_up_at);
    out.push(
      h(
        "div",
        { class: `banner ${gaveUp ? "error" : "warning"}`, "data-state": gaveUp ? "retry-given-up" : "retrying", role: "group", "aria-label": "Retries of the last fire" },
        h("p", {}, h("strong", {}, gaveUp ? "The fire was given up" : "Retrying the fire"), ": the fire of ", when(r.fire), " could not start an instance."),
        h(
          "dl",
          { class: "pairs retry" },
          h("dt", {}, "Failed attempts"),
          h("dd", { "data-field": "attempts" }, `${r.attempts} (the fire and ${Math.max(0, r.attempts - 1)} of ${LADDER_RETRIES} retries)`),
          h("dt", {}, "Last error"),
          h("dd", { "data-field": "last-error" }, r.last_error || "—", r.last_error_code ? h("span", { class: "muted small" }, ` (${r.last_error_code})`) : null),
          h("dt", {}, "First failure"),
          h("dd", {}, when(r.failed_at)),
          gaveUp
            ? [h("dt", {}, "Given up"), h("dd", { "data-field": "gave-up" }, when(r.gave_up_at), "; the trigger fires again at its next occurrence")]
            : [h("dt", {}, "Next attempt"), h("dd", { "data-field": "next-attempt" }, `retry ${r.next_attempt} of ${LADDER_RETRIES}, at `, when(r.next_attempt_at))],
        ),
      ),
    );
  }
  return out;
}

// A workflow whose fire is being retried changes soon: its page refreshes often.
export function retrying(w) {
  return Boolean(w.trigger_retry && !w.trigger_retry.gave_up_at);
}

// The runs of instances, by workflow id (a run that ended does not change: fetched once).
const RUN_ENDED = new Set(["succeeded", "failed", "stopped", "skipped"]);
const runSummaries = new Map();

function showsRuns(instance, workflow) {
  const single = workflow && workflow.trigger && workflow.trigger.create === "single_instance";
  return single || (instance.runs || []).length > 1;
}

// Fetches what the runs list shows (status, start, end) for the runs not known to have ended.
export async function loadRuns(instance, workflow) {
  if (!showsRuns(instance, workflow)) return;
  const stale = (instance.runs || []).filter((wid) => !runSummaries.has(wid) || !RUN_ENDED.has(runSummaries.get(wid).status));
  await Promise.all(
    stale.map((wid) =>
      api("GET", `api/workflows/${encodeURIComponent(wid)}`).then(
        (run) => runSummaries.set(wid, run),
        () => runSummaries.delete(wid), // shown without its status; tried again at the next refresh
      ),
    ),
  );
}

// What the runs list shows changes with its runs' statuses: part of what a page compares.
export function runsKey(instance) {
  return (instance.runs || []).map((wid) => (runSummaries.get(wid) || {}).status || "");
}

// The instance's engine runs, oldest first: a single instance has one per fire.
export function runsCard(instance, workflow) {
  if (!showsRuns(instance, workflow)) return null;
  const runs = instance.runs || [];
  return h(
    "section",
    { class: "card ix-runs", "aria-labelledby": "runs-title" },
    h("h2", { id: "runs-title" }, `Runs (${runs.length})`),
    h("p", { class: "muted small" }, "Every fire of the trigger re-runs this instance as a new run of the engine; the latest is last."),
    runs.length
      ? h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "runs" },
            h("caption", { class: "visually-hidden" }, `Runs of instance ${instance.instance_id}, oldest first`),
            h("thead", {}, h("tr", {}, ["Run", "Status", "Started", "Ended"].map((l) => h("th", { scope: "col" }, l)))),
            h(
              "tbody",
              {},
              runs.map((wid, i) => {
                const run = runSummaries.get(wid);
                return h(
                  "tr",
                  { "data-run": wid },
                  h(
                    "td",
                    {},
                    h("a", { href: href(`workflows/${encodeURIComponent(wid)}`), "aria-label": `Run ${i + 1} of instance ${instance.instance_id}` }, `Run ${i + 1}`),
                    i === runs.length - 1 ? h("span", { class: "tag" }, "latest") : null,
                  ),
                  h("td", {}, run ? statusBadge(runStatus(run)) : "—"),
                  h("td", {}, when(run && run.started_at)),
                  h("td", {}, when(run && run.ended_at)),
                );
              }),
            ),
          ),
        )
      : h("p", { class: "muted" }, "No run yet."),
  );
}

// Between two fires of a single instance.
export function waitingNextBanner(instance) {
  if (instance.status !== "Waiting Next Trigger") return null;
  const n = (instance.runs || []).length;
  return h("div", { class: "banner info", "data-state": "waiting-next-trigger" }, h("p", {}, h("strong", {}, "Waiting for the next trigger: "), `run ${n} succeeded; the trigger's next fire re-runs this instance (run ${n + 1}), leaving out everyone it already targeted.`));
}

// A word for the Interactions list: what the trigger state adds to a workflow's state.
export function triggerNote(w) {
  if (w.trigger_retry) return w.trigger_retry.gave_up_at ? "fire given up" : "retrying a fire";
  if (w.completed_reason) return "complete";
  if (w.deactivated_reason) return "expired";
  return null;
}
