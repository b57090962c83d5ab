// An instance of an interaction workflow: its branches as columns, each activity with its
// status, time remaining (a delay counting down) and results bubble; Pause, Play, Stop and
// Rollback (each confirmed); the other instances, newest first; a link to its engine run.
// Refreshed every 2 seconds while it runs.

import { api } from "./api.js";
import { can, href } from "./nav.js";
import { clear, errorBanner, h, loading, pretty, toast } from "./ui.js";
import { FINAL, HELD, PLAYING, ROLLBACK_FROM, activityType, bubble, confirmAction, formatRemaining, isLive, ixBadge, keepFocus, when } from "./ixui.js";
import { instancePath } from "./interaction.js";
import { loadRuns, runsCard, runsKey, waitingNextBanner } from "./ixtriggers.js";
import { audienceBar } from "./ixaudiences.js";
import { offerHistory } from "./ixhistory.js";

const LIVE_MS = 2000;
const IDLE_MS = 30_000;

export async function render(main, { id, key, n }, session) {
  const number = Number.parseInt(n, 10);
  let design = null;
  let instance = null;
  let others = [];
  let timer = null;
  let ticker = null;
  let stopped = false;
  let lastDrawn = "";
  let fetchedAt = 0;

  const designLink = h("a", { href: href(`interactions/${encodeURIComponent(id)}`) }, "Interaction");
  const crumbs = h("p", { class: "breadcrumb" }, h("a", { href: href("interactions") }, "Interactions"), " › ", designLink, " › ", h("span", {}, `Instance ${n}`));
  const head = h("div", { class: "page-head" });
  const banner = h("div");
  const boxes = h("dl", { class: "boxes", "aria-label": "Summary" });
  // many branches scroll sideways: the region takes the keyboard focus so arrows can scroll it
  const columns = h("div", { class: "branches", role: "region", "aria-label": "Branches", tabindex: "0" });
  const extra = h("div");
  const othersBox = h("section", { class: "card ix-others", "aria-labelledby": "others-title" });
  const history = session.features.offerHistory ? offerHistory({ base: `api/interactions/${encodeURIComponent(id)}/workflows/${encodeURIComponent(key)}`, instanceId: number }) : null;
  let historyShown = null; // what the history was read for: read again when the activities move on
  clear(main, crumbs, head, loading("Loading the instance…"));

  const base = `api/interactions/${encodeURIComponent(id)}/workflows/${encodeURIComponent(key)}`;

  function schedule() {
    clearTimeout(timer);
    if (stopped) return;
    timer = setTimeout(refresh, instance && isLive(instance.status) ? LIVE_MS : IDLE_MS);
  }

  async function refresh() {
    try {
      const [d, i, all] = await Promise.all([
        api("GET", `api/interactions/${encodeURIComponent(id)}`),
        api("GET", `${base}/instances/${number}`),
        api("GET", `${base}/instances`),
      ]);
      if (stopped) return;
      const first = !instance;
      design = d;
      instance = i;
      others = all.items;
      await loadRuns(i, workflow());
      fetchedAt = Date.now();
      if (first) clear(main, crumbs, head, banner, boxes, columns, extra, history && history.el, othersBox);
      draw();
      if (history) {
        history.setActivities(instance.activities);
        const seen = JSON.stringify(instance.activities.map((a) => [a.name, a.status, a.count]));
        if (seen !== historyShown) {
          historyShown = seen;
          history.load();
        }
      }
    } catch (exc) {
      if (stopped) return;
      if (!instance) {
        clear(main, crumbs, h("h1", {}, `Instance ${n}`), errorBanner(exc));
        if (exc.status === 404 || exc.status === 403 || exc.status === 422) return;
      } else {
        clear(banner, errorBanner(exc));
      }
    }
    schedule();
  }

  function workflow() {
    return (design && design.workflows.find((w) => w.key === key)) || { key, name: key, branches: [] };
  }

  function draw() {
    const w = workflow();
    const shown = JSON.stringify([design, instance, others, runsKey(instance)]);
    if (shown === lastDrawn) return;
    lastDrawn = shown;
    document.title = `${design.name}: ${w.name} #${instance.instance_id} · Switchyard`;
    designLink.textContent = design.name;
    keepFocus(() => {
      clear(banner);
      clear(head, h("h1", {}, `${w.name} #${instance.instance_id}`, " ", ixBadge(instance.status), instance.mode === "test" ? h("span", { class: "tag" }, "test") : null), controls(w));
      drawBoxes(w);
      drawColumns(w);
      drawExtra();
      drawOthers(w);
    });
  }

  function controls(w) {
    const actions = h("div", { class: "actions" });
    const latest = others.length && others[0].instance_id === instance.instance_id;
    const status = instance.status;
    if (can("manage_interactions") && latest) {
      if (PLAYING.has(status) || status === "Queued") {
        actions.append(
          h("button", { type: "button", class: "secondary", id: "pause-instance", onclick: () => act("pause", "Pause", `Pause ${w.name} #${instance.instance_id}?`, "The activity under way finishes and the next does not start. A delay counting down keeps counting.") }, "Pause"),
        );
      }
      if (HELD.has(status)) {
        actions.append(h("button", { type: "button", class: "primary", id: "play-instance", onclick: () => act("play", "Play", `Play ${w.name} #${instance.instance_id}?`, "The instance continues where it was held.") }, "Play"));
      }
      if (!FINAL.has(status) && status !== "Stop Requested" && status !== "Stopping" && !String(status).startsWith("Roll") && status !== "Test Failed" && status !== "Failed") {
        actions.append(
          h(
            "button",
            { type: "button", class: "danger", id: "stop-instance", onclick: () => act("stop", "Stop", `Stop ${w.name} #${instance.instance_id}?`, "The instance ends: the activity under way finishes, nothing after it runs. What it wrote stays until a rollback.", true) },
            "Stop",
          ),
        );
      }
    }
    if (can("rollback_interactions") && instance.mode === "production" && ROLLBACK_FROM.has(status)) {
      actions.append(
        h(
          "button",
          {
            type: "button",
            class: "danger",
            id: "rollback-instance",
            onclick: () =>
              confirmAction({
                title: `Roll back ${w.name} #${instance.instance_id}?`,
                text: "Its offer history, offer history details and meta rows and its exported files are removed. This cannot be undone.",
                button: "Roll back",
                danger: true,
                action: () => api("POST", `${base}/instances/${instance.instance_id}/rollback`),
                done: (r) => {
                  toast(r.status === "Rolled Back" ? `Rolled back: ${r.rollback ? r.rollback.offer_history_removed : 0} offer history records removed.` : `Rollback: ${r.status}.`);
                  return refresh();
                },
              }),
          },
          "Rollback",
        ),
      );
    }
    if (instance.workflow_id) actions.append(h("a", { class: "button secondary", href: href(`workflows/${encodeURIComponent(instance.workflow_id)}`) }, "View run"));
    return actions;
  }

  function act(action, label, title, text, danger = false) {
    confirmAction({
      title,
      text,
      button: label,
      danger,
      action: () => api("POST", `${base}/${action}`),
      done: () => {
        toast(`${label} requested.`);
        return refresh();
      },
    });
  }

  function drawBoxes(w) {
    const box = (label, value) => h("div", { class: "box" }, h("dt", {}, label), h("dd", {}, value));
    clear(
      boxes,
      box("Status", ixBadge(instance.status)),
      box("Mode", instance.mode === "production" ? "Production" : "Test"),
      box("Started by", instance.started_by),
      box("Started", when(instance.created_at)),
      box("Ended", when(instance.ended_at)),
    );
  }

  function drawColumns(w) {
    const byBranch = new Map();
    for (const a of instance.activities) {
      if (!byBranch.has(a.branch)) byBranch.set(a.branch, []);
      byBranch.get(a.branch).push(a);
    }
    // Before its run is recorded, the design's activities, not started yet.
    if (!byBranch.size) (w.branches || []).forEach((branch, i) => byBranch.set(i + 1, branch.map((a) => ({ name: a.name, type: a.type, status: null, count: null, warnings: [] }))));
    clear(
      columns,
      [...byBranch.entries()].map(([branch, activities]) =>
        h(
          "section",
          { class: "branch card", "aria-labelledby": `branch-${branch}`, "data-branch": String(branch) },
          h("h2", { id: `branch-${branch}` }, `Branch ${branch}`),
          audienceOf(branch),
          h("ol", { class: "activities" }, activities.map(activityCard)),
        ),
      ),
    );
  }

  // The branch's audience with its own Pause, Play and Stop and rewind.
  function audienceOf(branch) {
    const a = session.features.audienceControls && (instance.audiences || []).find((x) => x.branch === branch);
    if (!a) return null;
    return audienceBar(a, { base, instanceId: instance.instance_id, manage: can("manage_interactions"), live: isLive(instance.status), done: refresh });
  }

  // A wait for event that its branch has reached: someone may send its event ("manual"), or fire
  // a scheduled one before its time ("early", not while the workflow is paused).
  function awaitsEvent(a, previous) {
    if (a.type !== "wait_for_event" || a.status !== "Waiting For Trigger" || FINAL.has(instance.status)) return false;
    if (!session.features.activityEvents || !can("manage_interactions")) return false;
    if (previous && !/Completed$/.test(previous.status || "")) return false;
    // the branch is there once the activity has first asked for its event (before that, or once
    // an event came, the API answers 409 activity_not_waiting)
    if (!a.event || !a.event.waiting_since || a.event.at) return false;
    const defined = (workflow().branches || []).flat().find((x) => x.name === a.name);
    const trigger = (a.event && a.event.trigger) || (defined && defined.trigger) || "manual";
    if (trigger === "manual") return "manual";
    return trigger === "scheduled" && !HELD.has(instance.status) ? "early" : false;
  }

  function sendEvent(a, how) {
    const early = how === "early";
    const field = h("textarea", { id: "event-payload", class: "code", rows: "5", spellcheck: "false", placeholder: '{"approved_by": "Dana"}', "aria-describedby": "event-payload-help" });
    const body = h(
      "div",
      {},
      h("p", {}, early ? "The scheduled event comes now instead of at its time; the branch goes on from this activity (once its constraints hold), at its next check." : "The branch goes on from this activity (once its constraints hold), at its next check."),
      h("label", { for: "event-payload" }, "Payload (optional)"),
      field,
      h("p", { id: "event-payload-help", class: "muted small" }, "A JSON object of up to 16 KB; it becomes part of the activity's outputs and the next activity's input."),
    );
    const label = early ? "Fire now" : "Send event";
    confirmAction({
      title: early ? `Fire the event of ${a.name} now?` : `Send the event of ${a.name}?`,
      text: body,
      button: label,
      action: () => {
        const request = {};
        const text = field.value.trim();
        if (text) {
          try {
            request.payload = JSON.parse(text);
          } catch (exc) {
            throw { message: `The payload is not JSON (${exc.message}): write a JSON object such as {"approved_by": "Dana"}, or leave it empty.`, code: "invalid_payload" };
          }
        }
        if (early) request.early = true;
        return api("POST", `${base}/instances/${instance.instance_id}/activities/${encodeURIComponent(a.name)}/event`, request);
      },
      done: () => {
        toast(early ? `Event of ${a.name} fired early.` : `Event sent to ${a.name}.`);
        return refresh();
      },
    });
  }

  // What a wait for event waits for, or the event that came (how, by whom, when, its payload).
  function eventOf(a) {
    const e = a.event;
    if (!e) return null;
    if (!e.how) return e.trigger === "scheduled" && e.scheduled_for ? h("p", { class: "event muted small" }, "Event scheduled for ", when(e.scheduled_for)) : null;
    const how = { manual: "Sent", scheduled: "Came at its time", early: "Fired early" }[e.how] || e.how;
    return h(
      "div",
      { class: "event small", "data-how": e.how },
      h("p", {}, h("strong", {}, "Event: "), how, e.by ? ` by ${e.by}` : "", ", ", when(e.at)),
      e.payload ? h("details", {}, h("summary", {}, "Payload"), h("pre", { class: "code", tabindex: "0", "aria-label": `Payload of ${a.name}` }, pretty(e.payload))) : null,
    );
  }

  // An interactive branch runs again on its frequency: its cycles so far and the last one's count.
  function cycles(a) {
    if (a.last_cycle_count === undefined && !a.cycles) return null;
    const last = (a.cycles || []).at(-1);
    const parts = [];
    if (last) parts.push(`${last.cycle} cycle${last.cycle === 1 ? "" : "s"}, last at ${new Date(last.at).toLocaleString()}`);
    if (a.last_cycle_count !== null && a.last_cycle_count !== undefined) parts.push(`last cycle ${a.last_cycle_count.toLocaleString()}`);
    return parts.length ? h("p", { class: "cycles muted small" }, parts.join(" · ")) : null;
  }

  function activityCard(a, index, activities) {
    const remaining = a.remaining_seconds !== null && a.remaining_seconds !== undefined ? h("p", { class: "remaining", "data-remaining": String(a.remaining_seconds) }, h("span", { class: "muted small" }, a.type === "interactive_audience" ? "Next cycle in " : "Time remaining "), h("strong", { class: "countdown" }, formatRemaining(a.remaining_seconds))) : null;
    return h(
      "li",
      { class: "activity", "data-activity": a.name, "data-status": a.status || "" },
      h("div", { class: "activity-head" }, h("span", { class: "activity-name" }, a.name), bubble(a)),
      h("p", { class: "muted small" }, activityType(a.type)),
      a.status ? ixBadge(a.status) : h("span", { class: "muted small" }, "Not started"),
      remaining,
      cycles(a),
      (a.warnings || []).length ? h("ul", { class: "task-warnings" }, a.warnings.map((x) => h("li", {}, x))) : null,
      a.error ? h("p", { class: "activity-error", role: "note" }, `${a.error.code}: ${a.error.message}`) : null,
      a.queued_reason ? h("p", { class: "queued-reason small" }, h("strong", {}, "Queued: "), a.queued_reason) : null,
      eventOf(a),
      eventButton(a, awaitsEvent(a, activities[index - 1]), index),
    );
  }

  function eventButton(a, how, index) {
    if (!how) return null;
    const label = how === "early" ? "Fire now" : "Send event";
    return h("button", { type: "button", class: "secondary", id: `event-${a.branch}-${index}`, "aria-label": `${label}: ${a.name}`, onclick: () => sendEvent(a, how) }, label);
  }

  // The delays count down between refreshes.
  function tick() {
    const gone = (Date.now() - fetchedAt) / 1000;
    for (const el of columns.querySelectorAll(".remaining")) {
      el.querySelector(".countdown").textContent = formatRemaining(Number(el.dataset.remaining) - gone);
    }
  }

  function drawExtra() {
    const parts = [waitingNextBanner(instance), runsCard(instance, workflow())];
    const queued = instance.status === "Queued" ? instance.activities.filter((a) => a.queued_reason) : [];
    if (queued.length) parts.push(h("div", { class: "banner info", "data-state": "queued" }, h("p", {}, h("strong", {}, "Queued: "), "nothing of this instance runs until a slot is free or the maintenance window ends."), h("ul", {}, queued.map((a) => h("li", {}, `${a.name}: ${a.queued_reason}`)))));
    if (instance.paused_reason) parts.push(h("div", { class: "banner warning" }, h("p", {}, h("strong", {}, "Paused: "), instance.paused_reason)));
    if (instance.rollback) parts.push(h("details", { class: "card" }, h("summary", {}, "Rollback"), h("pre", { class: "code", tabindex: "0", "aria-label": "Rollback" }, pretty(instance.rollback))));
    if ((instance.exported_files || []).length) parts.push(h("details", { class: "card" }, h("summary", {}, `Exported files (${instance.exported_files.length})`), h("ul", {}, instance.exported_files.map((f) => h("li", {}, h("code", {}, typeof f === "string" ? f : JSON.stringify(f)))))));
    clear(extra, parts);
  }

  function drawOthers(w) {
    clear(
      othersBox,
      h("h2", { id: "others-title" }, `Instances of ${w.name}`),
      h(
        "ol",
        { class: "instance-list" },
        others.map((i) =>
          h(
            "li",
            { "data-instance": String(i.instance_id) },
            i.instance_id === instance.instance_id
              ? h("strong", { "aria-current": "page" }, `#${i.instance_id}`)
              : h("a", { href: href(instancePath(id, key, i.instance_id)), "aria-label": `Instance ${i.instance_id}` }, `#${i.instance_id}`),
            " ",
            ixBadge(i.status),
            " ",
            h("span", { class: "muted small" }, i.mode, ", ", when(i.created_at)),
          ),
        ),
      ),
    );
  }

  await refresh();
  ticker = setInterval(tick, 1000);
  return () => {
    stopped = true;
    clearTimeout(timer);
    clearInterval(ticker);
  };
}
