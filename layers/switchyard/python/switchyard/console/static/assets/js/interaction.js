// An interaction design: each workflow's trigger, state and instances, with Activate test,
// Activate production, Deactivate, Fire and Reactivate (each confirmed, the API's refusal shown
// with its problem list), and the design's JSON in an editor that saves with PUT.

import { api } from "./api.js";
import { can, href, navigate } from "./nav.js";
import { clear, errorBanner, field, h, loading, setFieldError, toast } from "./ui.js";
import { activityType, confirmAction, constraintSummary, isLive, ixBadge, keepFocus, problemList, problemsBanner, triggerKind, triggerSummary, when } from "./ixui.js";
import { retrying, triggerStateBanners, triggerStatePairs } from "./ixtriggers.js";

const LIVE_MS = 2000;
const IDLE_MS = 30_000;
// What the API adds to each workflow of a design (its state), left out of the editor.
// The design as it is saved (the API's `definition`: no state), for the editor.
export function editable(design) {
  return design.definition;
}

export function instancePath(designId, key, n) {
  return `interactions/${encodeURIComponent(designId)}/workflows/${encodeURIComponent(key)}/instances/${n}`;
}

export async function render(main, { id }) {
  let design = null;
  let instances = {}; // key -> [instances], newest first
  let timer = null;
  let stopped = false;
  let lastDrawn = "";
  let editorDirty = false;

  const crumbs = h("p", { class: "breadcrumb" }, h("a", { href: href("interactions") }, "Interactions"), " › ", h("span", { class: "crumb-name" }, "Interaction"));
  const head = h("div", { class: "page-head" });
  const about = h("div", { class: "design-about" });
  const banner = h("div");
  const workflowsBox = h("div", { class: "ix-workflows" });
  const editor = h("textarea", { rows: 22, spellcheck: "false", class: "design-editor" });
  const editorStatus = h("div", { class: "form-status" });
  const save = h("button", { type: "submit", class: "primary", id: "save-design" }, "Save design");
  const revert = h("button", { type: "button", class: "secondary", id: "revert-design" }, "Discard changes");
  const editorNote = h("p", { class: "muted small" });
  const editorBox = h(
    "form",
    { class: "card design-form", "aria-labelledby": "design-json-title", onsubmit: (e) => (e.preventDefault(), saveDesign()) },
    h("h2", { id: "design-json-title" }, "Design (JSON)"),
    editorNote,
    field({ id: "design-json", label: "Design", hint: "Name, description and workflows, as in docs/interactions.md. Saving validates it against the warehouse catalog.", input: editor }),
    h("p", { class: "small" }, h("a", { href: href("warehouse") }, "The warehouse: its tables, columns and catalog")),
    editorStatus,
    can("manage_interactions") ? h("div", { class: "actions" }, save, revert) : null,
  );
  if (!can("manage_interactions")) editor.readOnly = true;
  editor.addEventListener("input", () => {
    editorDirty = true;
  });
  revert.addEventListener("click", () => {
    editorDirty = false;
    editor.value = JSON.stringify(editable(design), null, 2);
    setFieldError(editor, null);
    clear(editorStatus);
  });

  clear(main, crumbs, head, loading("Loading the interaction…"));

  function schedule() {
    clearTimeout(timer);
    if (stopped) return;
    const live = design && design.workflows.some((w) => isLive(w.status) || w.waiting_for_constraints || retrying(w) || (instances[w.key] || []).some((i) => isLive(i.status)));
    timer = setTimeout(refresh, live ? LIVE_MS : IDLE_MS);
  }

  async function refresh() {
    try {
      const fresh = await api("GET", `api/interactions/${encodeURIComponent(id)}`);
      const lists = await Promise.all(
        fresh.workflows.map((w) => api("GET", `api/interactions/${encodeURIComponent(id)}/workflows/${encodeURIComponent(w.key)}/instances`).then((r) => r.items)),
      );
      if (stopped) return;
      const first = !design;
      design = fresh;
      instances = Object.fromEntries(fresh.workflows.map((w, i) => [w.key, lists[i]]));
      if (first) {
        clear(main, crumbs, head, about, banner, workflowsBox, editorBox);
        editor.value = JSON.stringify(editable(design), null, 2);
      }
      drawAll();
    } catch (exc) {
      if (stopped) return;
      if (!design) {
        clear(main, crumbs, h("h1", {}, "Interaction"), errorBanner(exc));
        if (exc.status === 404 || exc.status === 403) return;
      } else {
        clear(banner, errorBanner(exc));
      }
    }
    schedule();
  }

  // Drawn again only when something changed, keeping the focus where it was.
  function drawAll({ force = false } = {}) {
    const shown = JSON.stringify([design, instances]);
    if (!force && shown === lastDrawn) return;
    lastDrawn = shown;
    document.title = `${design.name} · Interaction · Switchyard`;
    crumbs.querySelector(".crumb-name").textContent = design.name;
    keepFocus(() => {
      clear(head, h("h1", {}, design.name));
      clear(
        about,
        design.description ? h("p", {}, design.description) : null,
        h("p", { class: "muted small" }, `Version ${design.version}, created by ${design.created_by}, `, when(design.created_at), "; updated ", when(design.updated_at), "."),
      );
      clear(workflowsBox, design.workflows.map(workflowCard));
      const anyActive = design.workflows.some((w) => w.active);
      editorNote.textContent = anyActive ? "A design cannot be changed while one of its workflows is active: deactivate them first." : "";
      if (!editorDirty && document.activeElement !== editor) editor.value = JSON.stringify(editable(design), null, 2);
    });
  }

  function workflowCard(w) {
    const key = w.key;
    const slug = key.replace(/[^a-z0-9_]/g, "");
    const list = instances[key] || [];
    const latest = list[0] || null;
    const t = w.trigger || { kind: "manual" };
    const pairs = [];
    const pair = (label, value) => pairs.push(h("dt", {}, label), h("dd", {}, value));
    pair("Trigger", triggerKind(t));
    pair("Fires", triggerSummary(t));
    if ((t.constraints || []).length) {
      pair(
        "Constraints",
        h("ul", { class: "plain" }, t.constraints.map((c) => h("li", {}, constraintSummary(c)))),
      );
      pair("Stop checking after", `${t.stop_checking_after_minutes ?? 60} minutes`);
    }
    if (w.trigger_guid) pair("External trigger GUID", h("code", {}, w.trigger_guid));
    pair("State", w.active ? `Active in ${w.mode}` : "Not active");
    if (w.trigger_fires) pair("Fired by the trigger", `${w.trigger_fires} ${w.trigger_fires === 1 ? "time" : "times"}`);
    if (w.last_scheduled_time) pair("Last scheduled time", when(w.last_scheduled_time));
    pair("Files in test mode", w.create_files_in_test_mode ? "Created" : "Not created");
    triggerStatePairs(w, pair, (n) => href(instancePath(id, key, n)));
    const waiting = w.waiting_for_constraints;
    const waitingBox = waiting
      ? h(
          "div",
          { class: "banner info", "data-state": "waiting" },
          h("p", {}, h("strong", {}, "Waiting for its constraints"), " since ", when(waiting.since), ", until ", when(waiting.until), "."),
          (waiting.unmet || []).length ? [h("p", {}, "Not holding yet:"), h("ul", {}, waiting.unmet.map((u) => h("li", {}, typeof u === "string" ? u : u.message || u.name || JSON.stringify(u))))] : null,
        )
      : null;

    const actions = h("div", { class: "actions", role: "group", "aria-label": `Actions for ${w.name}` });
    const button = (suffix, label, cls, onclick) => h("button", { type: "button", class: cls, id: `${slug}-${suffix}`, onclick }, label);
    const base = `api/interactions/${encodeURIComponent(id)}/workflows/${encodeURIComponent(key)}`;
    if (can("manage_interactions")) {
      if (!w.active) {
        actions.append(
          button("activate-test", "Activate test", "primary", () =>
            confirmAction({
              title: `Activate ${w.name} in test mode?`,
              text: "The design is validated again. In test mode offer history goes to the sandbox and exports create no file (unless the workflow creates files in test mode); it can be run again and again.",
              button: "Activate test",
              action: () => api("POST", `${base}/activate`, { mode: "test" }),
              done: (d) => changed(d, `${w.name} is active in test mode.`),
            }),
          ),
          button("activate-production", "Activate production", "secondary", () =>
            confirmAction({
              title: `Activate ${w.name} in production?`,
              text: "The design is validated again. In production offer history goes to the production tables and exports are written. A workflow activated in production cannot be activated again: stop it and reactivate it instead.",
              button: "Activate production",
              action: () => api("POST", `${base}/activate`, { mode: "production" }),
              done: (d) => changed(d, `${w.name} is active in production.`),
            }),
          ),
        );
      } else {
        actions.append(
          button("deactivate", "Deactivate", "secondary", () =>
            confirmAction({
              title: `Deactivate ${w.name}?`,
              text: "It will not fire again until it is activated; an instance that runs goes on, and a wait for constraints ends.",
              button: "Deactivate",
              action: () => api("POST", `${base}/deactivate`),
              done: (d) => changed(d, `${w.name} is not active.`),
            }),
          ),
        );
      }
    }
    if (w.active && (t.kind || "manual") === "manual" && can("start_workflows")) {
      actions.prepend(
        button("fire", "Fire", "primary", () =>
          confirmAction({
            title: `Fire ${w.name}?`,
            text: `A new instance starts in ${w.mode} mode${(t.constraints || []).length ? ", once its constraints hold" : ""}.`,
            button: "Fire",
            action: () => api("POST", `${base}/fire`),
            done: (r) => started(key, r),
          }),
        ),
      );
    }
    if (can("manage_interactions") && latest && latest.mode === "production" && latest.status === "Stopped") {
      actions.append(
        button("reactivate", "Reactivate", "secondary", () =>
          confirmAction({
            title: `Reactivate ${w.name}?`,
            text: "It restarts from the beginning as a new production instance. Records an earlier production instance offered (or held as a control) are left out: nobody is contacted twice.",
            button: "Reactivate",
            action: () => api("POST", `${base}/reactivate`),
            done: (r) => started(key, r),
          }),
        ),
      );
    }

    const headingId = `workflow-${slug}`;
    return h(
      "section",
      { class: "card ix-workflow", "aria-labelledby": headingId, "data-workflow": key },
      h("div", { class: "stage-head" }, h("h2", { id: headingId }, w.name, " ", h("span", { class: "muted small" }, `(${key})`)), ixBadge(w.status)),
      h("div", { class: "ix-workflow-body" }, h("dl", { class: "pairs" }, pairs), actions),
      waitingBox,
      triggerStateBanners(w),
      h(
        "details",
        { class: "ix-branches" },
        h("summary", {}, `Branches (${w.branches.length})`),
        h(
          "ol",
          {},
          w.branches.map((branch) => h("li", {}, branch.map((a, i) => [i ? " → " : "", h("strong", {}, a.name), h("span", { class: "muted small" }, ` ${activityType(a.type)}`)]))),
        ),
      ),
      h("h3", {}, "Instances"),
      list.length ? instanceTable(w, list) : h("p", { class: "muted" }, w.active && (t.kind || "manual") === "manual" ? "None yet: fire it." : "None yet."),
    );
  }

  function instanceTable(w, list) {
    return h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "instances", "data-workflow": w.key },
        h("caption", { class: "visually-hidden" }, `Instances of ${w.name}, newest first`),
        h("thead", {}, h("tr", {}, ["Instance", "Mode", "Status", "Started by", "Started", "Ended", "Run"].map((l) => h("th", { scope: "col" }, l)))),
        h(
          "tbody",
          {},
          list.map((i) =>
            h(
              "tr",
              { "data-instance": String(i.instance_id), "data-status": i.status },
              h("td", {}, h("a", { href: href(instancePath(id, w.key, i.instance_id)), "aria-label": `Instance ${i.instance_id} of ${w.name}` }, `#${i.instance_id}`)),
              h("td", {}, i.mode),
              h("td", {}, ixBadge(i.status)),
              h("td", {}, i.started_by),
              h("td", {}, when(i.created_at)),
              h("td", {}, when(i.ended_at)),
              h("td", {}, i.workflow_id ? h("a", { href: href(`workflows/${encodeURIComponent(i.workflow_id)}`), "aria-label": `Run of instance ${i.instance_id}` }, "View run") : "—"),
            ),
          ),
        ),
      ),
    );
  }

  async function changed(fresh, message) {
    toast(message);
    design = fresh;
    await refresh();
  }

  async function started(key, result) {
    if (result && result.started === false) {
      toast(result.waiting_for_constraints ? "Fired: waiting for its constraints to hold." : `Not started: ${result.reason || "see the workflow"}.`);
      await refresh();
      return;
    }
    toast(`Instance ${result.instance_id} started.`);
    navigate(instancePath(id, key, result.instance_id));
  }

  async function saveDesign() {
    setFieldError(editor, null);
    clear(editorStatus);
    let body;
    try {
      body = JSON.parse(editor.value);
    } catch (exc) {
      setFieldError(editor, `The design is not valid JSON: ${exc.message}`);
      editor.focus();
      return;
    }
    save.disabled = true;
    save.textContent = "Saving…";
    try {
      const saved = await api("PUT", `api/interactions/${encodeURIComponent(id)}`, body);
      editorDirty = false;
      design = saved;
      editor.value = JSON.stringify(editable(saved), null, 2);
      clear(
        editorStatus,
        h(
          "div",
          { class: "banner info", role: "status" },
          h("p", {}, `Saved: version ${saved.version}.`),
          saved.warnings && saved.warnings.length ? [h("p", {}, "With warnings:"), problemList(saved.warnings)] : null,
        ),
      );
      await refresh();
    } catch (exc) {
      const alert = problemsBanner(exc);
      alert.setAttribute("tabindex", "-1");
      clear(editorStatus, alert);
      setFieldError(editor, "The design was not saved: see the problems below.");
      alert.focus();
    } finally {
      save.disabled = false;
      save.textContent = "Save design";
    }
  }

  await refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
