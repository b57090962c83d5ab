// What a workflow's trigger did and will do, from the design's state (docs/interactions.md):
// the retry ladder of a fire that could not start an instance (`trigger_retry`), the
// single-instance recurring mode (`trigger.create`, `single_instance_id`, `completed_reason`),
// inactivity expiry (`expire_after_days_inactive`, `last_fired_at`, `expires_at`,
// `deactivated_reason`); and, on an instance, its engine runs (one per fire of a single instance).

import { href } from "./nav.js";
import { h } from "./ui.js";
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

// The instance's engine runs, oldest first: a single instance has one per fire.
export function runsCard(instance, workflow) {
  const runs = instance.runs || [];
  const single = workflow && workflow.trigger && workflow.trigger.create === "single_instance";
  if (!single && runs.length < 2) return null;
  return h(
    "section",
    { class: "card ix-runs", "aria-labelledby": "runs-title" },
    h("h2", { id: "runs-title" }, `Runs (${runs.length})`),
    h("p", { class: "muted small" }, "Every fire of the trigger re-runs this instance as a new run of the engine; the latest is last."),
    runs.length
      ? h(
          "ol",
          { class: "run-list" },
          runs.map((wid, i) =>
            h(
              "li",
              { "data-run": wid },
              h("a", { href: href(`workflows/${encodeURIComponent(wid)}`), "aria-label": `Run ${i + 1} of instance ${instance.instance_id}` }, `Run ${i + 1}`),
              " ",
              h("code", { class: "muted small" }, wid),
              i === runs.length - 1 ? h("span", { class: "tag" }, "latest") : null,
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
