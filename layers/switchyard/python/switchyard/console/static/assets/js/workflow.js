// The workflow page: a run's boxes, its stages and tasks (live while it runs), the error
// banner with the Resolve dialog, Stop, task dialogs and per-run alert subscriptions.

import { api } from "./api.js";
import { openSubscriptions } from "./alerts.js";
import { can, href } from "./nav.js";
import {
  clear,
  errorBanner,
  field,
  formatDuration,
  h,
  loading,
  openDialog,
  pretty,
  runDuration,
  runStatus,
  setFieldError,
  statusBadge,
  timeElement,
  toast,
} from "./ui.js";

const LIVE_MS = 2000;
const IDLE_MS = 30_000;
const LIVE = new Set(["running", "stopping"]);
const prefs = { hideSkipped: sessionStorage.getItem("switchyard.hideSkipped") === "1", hideWarnings: sessionStorage.getItem("switchyard.hideWarnings") === "1" };

export async function render(main, { id }, session) {
  let run = null;
  let timer = null;
  let stopped = false;
  let stopRequested = false;
  let typeTitle = null;

  const head = h("div", { class: "page-head" });
  const banner = h("div", { class: "run-banner" });
  const boxes = h("dl", { class: "boxes" });
  const hideSkipped = h("input", { type: "checkbox", id: "hide-skipped", checked: prefs.hideSkipped });
  const hideWarnings = h("input", { type: "checkbox", id: "hide-warnings", checked: prefs.hideWarnings });
  const options = h(
    "div",
    { class: "toggles", role: "group", "aria-label": "Display options" },
    h("label", { for: "hide-skipped" }, hideSkipped, " Hide skipped tasks"),
    h("label", { for: "hide-warnings" }, hideWarnings, " Hide warnings"),
  );
  const stagesBox = h("div", { class: "stages" });
  const historyBox = h("div", { class: "history" });
  clear(
    main,
    h("p", { class: "breadcrumb" }, h("a", { href: href("workflows") }, "Workflows"), " › ", h("span", { class: "crumb-name" }, "Workflow")),
    head,
    loading("Loading the workflow…"),
  );

  hideSkipped.addEventListener("change", () => {
    prefs.hideSkipped = hideSkipped.checked;
    sessionStorage.setItem("switchyard.hideSkipped", prefs.hideSkipped ? "1" : "0");
    renderStages();
  });
  hideWarnings.addEventListener("change", () => {
    prefs.hideWarnings = hideWarnings.checked;
    sessionStorage.setItem("switchyard.hideWarnings", prefs.hideWarnings ? "1" : "0");
    renderStages();
  });

  function schedule() {
    clearTimeout(timer);
    if (stopped) return;
    const waitingToStore = run && run.status === "failed" && !run.waiting_for_resolution && !run.ended_at;
    timer = setTimeout(refresh, run && (LIVE.has(run.status) || waitingToStore) ? LIVE_MS : IDLE_MS);
  }

  async function refresh() {
    try {
      run = await api("GET", `api/workflows/${encodeURIComponent(id)}`);
      if (stopped) return;
      if (!typeTitle) {
        try {
          const types = await api("GET", "api/workflow-types");
          typeTitle = Object.fromEntries(types.items.map((t) => [t.id, t.title]));
        } catch (exc) {
          typeTitle = {};
        }
      }
      if (!main.contains(stagesBox)) {
        clear(
          main,
          h("p", { class: "breadcrumb" }, h("a", { href: href("workflows") }, "Workflows"), " › ", h("span", { class: "crumb-name" }, run.name)),
          head,
          banner,
          boxes,
          options,
          stagesBox,
          historyBox,
        );
      }
      document.title = `${run.name} · Workflow · Switchyard`;
      renderAll();
    } catch (exc) {
      if (stopped) return;
      if (!run) {
        clear(main, h("p", { class: "breadcrumb" }, h("a", { href: href("workflows") }, "Workflows")), h("h1", {}, "Workflow"), errorBanner(exc));
        if (exc.status === 404 || exc.status === 403) return;
      } else {
        clear(banner, errorBanner(exc));
      }
    }
    schedule();
  }

  function renderAll() {
    renderHead();
    renderBanner();
    renderBoxes();
    renderStages();
    renderHistory();
  }

  function renderHead() {
    const actions = h("div", { class: "actions" });
    const canStop = can("operate_workflows") && (run.status === "running" || run.status === "stopping" || (run.status === "failed" && run.waiting_for_resolution));
    if (canStop) {
      const stopping = run.status === "stopping" || stopRequested;
      actions.append(
        h(
          "button",
          { type: "button", class: "danger", id: "stop-workflow", disabled: stopping, onclick: confirmStop },
          stopping ? "Stopping…" : "Stop workflow",
        ),
      );
    }
    actions.append(h("a", { class: "button secondary", href: href(`workflows/${encodeURIComponent(run.id)}/graph`) }, "View workflow graph"));
    // An interaction instance's run links back to the instance (its tasks carry where they belong).
    const ix = run.type === "interaction" ? run.stages.flatMap((s) => s.tasks).map((task) => task.inputs || {}).find((i) => i.design_id && i.instance_id) : null;
    if (ix) {
      const path = `interactions/${encodeURIComponent(ix.design_id)}/workflows/${encodeURIComponent(ix.workflow_key)}/instances/${ix.instance_id}`;
      actions.append(h("a", { class: "button secondary", href: href(path) }, "View interaction instance"));
    }
    if (session.features.subscriptions) {
      actions.append(h("button", { type: "button", class: "secondary", onclick: () => openSubscriptions(run) }, "Subscribe to alerts"));
    }
    clear(head, h("h1", {}, run.name, " ", statusBadge(runStatus(run))), actions);
  }

  function failedTask() {
    for (const stage of run.stages) for (const task of stage.tasks) if (task.status === "failed") return task;
    return null;
  }

  function renderBanner() {
    if (run.status !== "failed" || !run.error) {
      clear(banner);
      return;
    }
    const task = failedTask();
    const showResolutions = run.waiting_for_resolution
      ? can("operate_workflows")
        ? h("button", { type: "button", class: "primary", onclick: () => openResolve(task) }, "Show resolutions")
        : h("p", { class: "small" }, "Ask an operator or an administrator to resolve this failure.")
      : h("p", { class: "small" }, "This run has ended; no resolution can be applied.");
    clear(
      banner,
      h(
        "div",
        { class: "banner error", role: "alert", id: "error-banner" },
        h("p", {}, h("strong", {}, task ? `${task.name} failed: ` : "The run failed: "), run.error.message),
        h("p", { class: "muted small" }, `Error code: ${run.error.code} (${run.error.category})`),
        showResolutions,
      ),
    );
  }

  function renderBoxes() {
    const box = (label, value) => h("div", { class: "box" }, h("dt", {}, label), h("dd", {}, value));
    clear(
      boxes,
      box("Status", statusBadge(run.status === "stopping" || stopRequested && run.status === "running" ? "stopping" : runStatus(run))),
      box("Type", (typeTitle && typeTitle[run.type]) || run.type),
      box("Started by", run.started_by),
      box("Start time", timeElement(run.started_at)),
      box("Duration", runDuration(run)),
    );
    boxes.setAttribute("aria-label", "Summary");
  }

  function renderStages() {
    if (!run) return;
    const stages = run.stages.map((stage, index) => {
      const tasks = stage.tasks.filter((t) => !(prefs.hideSkipped && t.status === "skipped"));
      const hidden = stage.tasks.length - tasks.length;
      const headingId = `stage-${index}`;
      return h(
        "section",
        { class: "stage card", "aria-labelledby": headingId, "data-stage": stage.name },
        h("div", { class: "stage-head" }, h("h2", { id: headingId }, `${index + 1}. ${stage.name}`), statusBadge(stage.status)),
        tasks.length
          ? h("ol", { class: "tasks" }, tasks.map(taskRow))
          : h("p", { class: "muted" }, stage.tasks.length ? "Every task of this stage is skipped (hidden)." : "This stage has no tasks in this run."),
        hidden && tasks.length ? h("p", { class: "muted small" }, `${hidden} skipped ${hidden === 1 ? "task" : "tasks"} hidden.`) : null,
      );
    });
    const warnings = !prefs.hideWarnings && run.warnings.length
      ? h("div", { class: "banner warning", "data-warnings": "run" }, h("p", {}, h("strong", {}, "Warnings")), h("ul", {}, run.warnings.map((w) => h("li", {}, w))))
      : null;
    clear(stagesBox, warnings, stages.length ? stages : h("p", { class: "muted" }, "The run is being planned…"));
  }

  function taskRow(task) {
    const duration = task.started_at && task.ended_at ? formatDuration((new Date(task.ended_at) - new Date(task.started_at)) / 1000) : task.status === "running" ? "running…" : "—";
    return h(
      "li",
      { class: "task", "data-task": task.name, "data-status": task.status },
      h(
        "div",
        { class: "task-main" },
        statusBadge(task.status),
        h("span", { class: "task-name" }, task.name),
        h("span", { class: "muted small" }, task.kind),
        h("span", { class: "muted small" }, duration),
        task.attempts > 1 ? h("span", { class: "muted small" }, `${task.attempts} attempts`) : null,
        h(
          "span",
          { class: "task-actions" },
          task.error
            ? h("button", { type: "button", class: "link-button", "aria-label": `View error details of ${task.name}`, onclick: () => showError(task) }, "View error details")
            : null,
          h("button", { type: "button", class: "link-button", "aria-label": `View inputs/outputs of ${task.name}`, onclick: () => showIO(task) }, "View inputs/outputs"),
        ),
      ),
      !prefs.hideWarnings && task.warnings.length ? h("ul", { class: "task-warnings", "data-warnings": "task" }, task.warnings.map((w) => h("li", {}, w))) : null,
    );
  }

  function renderHistory() {
    if (!run.history.length) return clear(historyBox);
    const label = (e) => ({ started: "Started", stop_requested: "Stop requested", resolution_applied: "Resolution applied", continued: "Continued in a new execution" })[e] || e.replaceAll("_", " ");
    clear(
      historyBox,
      h(
        "details",
        {},
        h("summary", {}, `History (${run.history.length})`),
        h(
          "ol",
          {},
          run.history.map((entry) =>
            h("li", {}, timeElement(entry.at), " ", h("strong", {}, label(entry.event)), ` by ${entry.by}`, entry.detail && entry.detail.resolution ? ` (${entry.detail.resolution} on ${entry.detail.task})` : "", entry.detail && entry.detail.execution ? ` (${entry.detail.execution})` : ""),
          ),
        ),
      ),
    );
  }

  // --- task dialogs ---
  function showError(task) {
    const e = task.error;
    openDialog({
      title: `Error details: ${task.name}`,
      wide: true,
      body: [
        h("dl", { class: "pairs" }, h("dt", {}, "Message"), h("dd", { class: "error-message" }, e.message), h("dt", {}, "Code"), h("dd", {}, e.code), h("dt", {}, "Category"), h("dd", {}, e.category), h("dt", {}, "Attempts"), h("dd", {}, String(task.attempts))),
        Object.keys(e.detail || {}).length ? [h("h3", {}, "Detail"), h("pre", { class: "code", tabindex: "0" }, pretty(e.detail))] : null,
      ],
      actions: [h("button", { type: "button", class: "secondary", onclick: (ev) => ev.target.closest("dialog").close() }, "Close")],
    });
  }

  function showIO(task) {
    openDialog({
      title: `Inputs and outputs: ${task.name}`,
      wide: true,
      body: [
        h("h3", {}, "Inputs"),
        h("pre", { class: "code", tabindex: "0", "aria-label": "Inputs" }, pretty(task.inputs)),
        h("h3", {}, "Outputs"),
        task.outputs ? h("pre", { class: "code", tabindex: "0", "aria-label": "Outputs" }, pretty(task.outputs)) : h("p", { class: "muted" }, task.status === "running" ? "The task is still running." : "No outputs recorded."),
      ],
      actions: [h("button", { type: "button", class: "secondary", onclick: (ev) => ev.target.closest("dialog").close() }, "Close")],
    });
  }

  // --- stop ---
  function confirmStop() {
    const stopButton = h("button", { type: "button", class: "danger" }, "Stop workflow");
    const status = h("div");
    const d = openDialog({
      title: "Stop this workflow?",
      body: [h("p", {}, "No new task will start. A running task is ended, except tasks that may not be interrupted (orchestrations), which finish first."), status],
      actions: [h("button", { type: "button", class: "secondary", onclick: () => d.close() }, "Cancel"), stopButton],
    });
    stopButton.addEventListener("click", async () => {
      stopButton.disabled = true;
      stopButton.textContent = "Stopping…";
      try {
        run = await api("POST", `api/workflows/${encodeURIComponent(id)}/stop`);
        stopRequested = true;
        d.close();
        toast("Stop requested.");
        renderAll();
        schedule();
      } catch (exc) {
        clear(status, errorBanner(exc));
        stopButton.disabled = false;
        stopButton.textContent = "Stop workflow";
      }
    });
  }

  // --- resolve ---
  async function openResolve(task) {
    const status = h("div");
    const continueButton = h("button", { type: "button", class: "primary", disabled: true }, "Continue");
    const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
    const d = openDialog({ title: "Resolve the failure", wide: true, body: loading("Loading the resolutions offered…"), actions: [cancel, continueButton] });
    cancel.addEventListener("click", () => d.close());
    let offered;
    try {
      offered = (await api("GET", `api/workflows/${encodeURIComponent(id)}/resolutions`)).items;
    } catch (exc) {
      clear(d.body, errorBanner(exc));
      return;
    }
    if (!offered.length) {
      clear(d.body, h("p", { role: "status" }, "No resolution is offered for this run now (it may have been resolved already)."));
      return;
    }
    let chosen = null;
    const paramInputs = {};
    const choices = offered.map((r) => {
      const radio = h("input", { type: "radio", name: "resolution", value: r.id, id: `resolution-${r.id}`, "aria-describedby": `resolution-${r.id}-desc` });
      const params = h("div", { class: "params", hidden: true });
      paramInputs[r.id] = r.params.map((p) => {
        const input = p.type === "object"
          ? h("textarea", { rows: 3, spellcheck: "false", placeholder: '{"name": "value"}' })
          : h("input", { type: p.type === "number" ? "number" : "text", step: p.type === "number" ? "any" : null });
        params.append(field({ id: `param-${r.id}-${p.name}`, label: `${p.name}${p.required ? "" : " (optional)"}`, hint: p.description, input }));
        return { param: p, input };
      });
      if (r.id === "update_credentials" && can("manage_credentials")) {
        // or update them on the Credentials page, which links back here to Resolve
        const destination = task && task.inputs && task.inputs.destination && task.inputs.destination.name;
        const target = `credentials?${new URLSearchParams({ ...(destination ? { name: destination } : {}), back: `workflows/${id}` })}`;
        params.prepend(h("p", {}, h("a", { href: href(target), class: "to-credentials", onclick: () => d.close() }, "Update them on the Credentials page"), ", then come back and Resolve with no credentials here: the task restarts with the stored ones."));
      }
      radio.addEventListener("change", () => {
        chosen = r;
        continueButton.disabled = false;
        for (const other of d.body.querySelectorAll(".params")) other.hidden = true;
        params.hidden = false;
      });
      return h(
        "div",
        { class: "choice" },
        h("label", { for: `resolution-${r.id}` }, radio, " ", h("strong", {}, r.title)),
        h("p", { class: "small", id: `resolution-${r.id}-desc` }, r.description),
        params,
      );
    });
    const stepOne = h(
      "fieldset",
      { class: "choices" },
      h("legend", {}, task ? `What should happen to ${task.name}?` : "Choose a resolution"),
      choices,
    );
    clear(d.body, task && task.error ? h("p", { class: "muted" }, task.error.message) : null, stepOne, status);

    function readParams() {
      const params = {};
      let ok = true;
      for (const { param, input } of paramInputs[chosen.id]) {
        const raw = input.value.trim();
        setFieldError(input, null);
        if (!raw) {
          if (param.required) {
            setFieldError(input, `${param.name} is required.`);
            ok = false;
          }
          continue;
        }
        if (param.type === "number") {
          const n = Number(raw);
          if (!Number.isFinite(n)) {
            setFieldError(input, `${param.name} must be a number.`);
            ok = false;
          } else params[param.name] = n;
        } else if (param.type === "object") {
          try {
            const value = JSON.parse(raw);
            if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error("not an object");
            params[param.name] = value;
          } catch (exc) {
            setFieldError(input, `${param.name} must be a JSON object, e.g. {"pattern": "file_{date}.csv"}.`);
            ok = false;
          }
        } else params[param.name] = raw;
      }
      return ok ? params : null;
    }

    continueButton.addEventListener("click", () => {
      if (!chosen) return;
      const params = readParams();
      if (!params) {
        d.body.querySelector("[aria-invalid=true]").focus();
        return;
      }
      const resolveButton = h("button", { type: "button", class: "primary" }, "Resolve");
      const back = h("button", { type: "button", class: "secondary" }, "Back");
      const confirmStatus = h("div");
      d.heading.textContent = "Confirm the resolution";
      clear(
        d.body,
        h("p", {}, "You are about to apply:"),
        h("p", { class: "chosen" }, h("strong", {}, chosen.title), task ? ` to ${task.name}` : ""),
        h("p", { class: "small" }, chosen.description),
        Object.keys(params).length ? [h("h3", {}, "Parameters"), h("pre", { class: "code" }, pretty(params))] : null,
        h("p", { class: "small muted" }, "The same run continues from here; this is recorded with your name."),
        confirmStatus,
      );
      clear(d.footer, back, resolveButton);
      resolveButton.focus();
      back.addEventListener("click", () => {
        d.heading.textContent = "Resolve the failure";
        clear(d.body, task && task.error ? h("p", { class: "muted" }, task.error.message) : null, stepOne, status);
        clear(d.footer, cancel, continueButton);
        continueButton.focus();
      });
      resolveButton.addEventListener("click", async () => {
        resolveButton.disabled = true;
        resolveButton.textContent = "Resolving…";
        try {
          run = await api("POST", `api/workflows/${encodeURIComponent(id)}/resolve`, { resolution: chosen.id, params });
          d.close();
          toast(`Resolution applied: ${chosen.title}. The run continues.`);
          renderAll();
          clearTimeout(timer);
          timer = setTimeout(refresh, LIVE_MS);
        } catch (exc) {
          clear(confirmStatus, errorBanner(exc));
          resolveButton.disabled = false;
          resolveButton.textContent = "Resolve";
        }
      });
    });
  }

  await refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
