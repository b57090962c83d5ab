// The Interactions page: every design's workflows with their trigger, state and latest
// instance; a search and filters kept in the URL; refreshed every 30 seconds in place.

import { api, query } from "./api.js";
import { can, href } from "./nav.js";
import { clear, errorBanner, field, h, loading } from "./ui.js";
import { ixBadge, triggerKind, when } from "./ixui.js";
import { triggerNote } from "./ixtriggers.js";

export const REFRESH_MS = 30_000;
const FILTERS = ["q", "state", "kind"];

function readState() {
  const params = new URLSearchParams(location.search);
  return Object.fromEntries(FILTERS.map((k) => [k, params.get(k) || ""]));
}

function writeState(state) {
  history.replaceState(null, "", href(`interactions${query(state)}`));
}

// One row per workflow: what the search and the filters look at.
function rowsOf(designs, latest) {
  const rows = [];
  for (const design of designs) {
    for (const w of design.workflows) {
      const last = latest[`${design.id}/${w.key}`] || null;
      rows.push({ design, workflow: w, last });
    }
  }
  return rows;
}

function matches(row, state) {
  const w = row.workflow;
  if (state.state === "active" && !w.active) return false;
  if (state.state === "inactive" && w.active) return false;
  if (state.state === "test" && !(w.active && w.mode === "test")) return false;
  if (state.state === "production" && !(w.active && w.mode === "production")) return false;
  if (state.kind && ((w.trigger && w.trigger.kind) || "manual") !== state.kind) return false;
  if (!state.q) return true;
  const text = [row.design.name, row.design.description, w.name, w.key, w.status, row.last && row.last.status, triggerKind(w.trigger), w.mode, triggerNote(w)]
    .filter(Boolean)
    .join(" ")
    .toLowerCase();
  return state.q
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((word) => text.includes(word));
}

export async function render(main) {
  let state = readState();
  let designs = [];
  let latest = {};
  let timer = null;
  let searchTimer = null;
  let generation = 0;

  const search = h("input", { type: "search", name: "q", autocomplete: "off", placeholder: "e.g. spring, paused, recurring" });
  const stateFilter = h(
    "select",
    { name: "state" },
    h("option", { value: "" }, "Any state"),
    h("option", { value: "active" }, "Active"),
    h("option", { value: "test" }, "Active in test"),
    h("option", { value: "production" }, "Active in production"),
    h("option", { value: "inactive" }, "Not active"),
  );
  const kindFilter = h(
    "select",
    { name: "kind" },
    h("option", { value: "" }, "Any trigger"),
    ["manual", "scheduled", "recurring", "activity_state"].map((k) => h("option", { value: k }, triggerKind({ kind: k }))),
  );
  const clearButton = h("button", { type: "button", class: "secondary" }, "Clear filters");
  const summary = h("p", { class: "muted small", "aria-live": "polite" });
  const message = h("div");
  const tbody = h("tbody");
  const table = h(
    "table",
    { class: "interactions" },
    h("caption", { class: "visually-hidden" }, "Interaction workflows"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Interaction", "Workflow", "Trigger", "State", "Status", "Latest instance"].map((label) => h("th", { scope: "col" }, label)),
      ),
    ),
    tbody,
  );
  const newButton = can("manage_interactions") ? h("a", { class: "button primary", href: href("interactions/new") }, "New interaction") : null;

  clear(
    main,
    h("div", { class: "page-head" }, h("h1", {}, "Interactions"), h("div", { class: "actions" }, h("a", { class: "button secondary", href: href("warehouse") }, "Warehouse"), newButton)),
    h(
      "div",
      { class: "interactions-layout" },
      h(
        "form",
        { class: "filters card", "aria-label": "Filters", onsubmit: (e) => e.preventDefault() },
        h("h2", {}, "Filters"),
        field({ id: "filter-state", label: "State", input: stateFilter }),
        field({ id: "filter-kind", label: "Trigger", input: kindFilter }),
        clearButton,
      ),
      h(
        "section",
        { class: "runs-pane", "aria-label": "Interaction workflows" },
        field({ id: "search", label: "Search interactions", hint: "Matches names, descriptions, workflows, triggers, modes and statuses (\"paused\").", input: search }),
        summary,
        message,
        h("div", { class: "table-wrap" }, table),
      ),
    ),
  );

  function syncInputs() {
    stateFilter.value = state.state;
    kindFilter.value = state.kind;
    if (document.activeElement !== search) search.value = state.q;
  }

  function update(changes) {
    state = { ...state, ...changes };
    writeState(state);
    syncInputs();
    draw();
  }

  stateFilter.addEventListener("change", () => update({ state: stateFilter.value }));
  kindFilter.addEventListener("change", () => update({ kind: kindFilter.value }));
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => update({ q: search.value.trim() }), 200);
  });
  search.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      clearTimeout(searchTimer);
      update({ q: search.value.trim() });
    }
  });
  clearButton.addEventListener("click", () => {
    search.value = "";
    update({ q: "", state: "", kind: "" });
  });

  function row({ design, workflow: w, last }) {
    const designLink = href(`interactions/${encodeURIComponent(design.id)}`);
    const state_ = w.active ? `Active, ${w.mode}` : "Not active";
    return h(
      "tr",
      { "data-id": design.id, "data-workflow": w.key, "data-status": w.status || "" },
      h("td", {}, h("a", { href: designLink }, design.name)),
      h("td", {}, w.name, " ", h("span", { class: "muted small" }, `(${w.key})`)),
      h("td", {}, triggerKind(w.trigger)),
      h("td", {}, state_, triggerNote(w) ? h("span", { class: "tag", "data-note": triggerNote(w) }, triggerNote(w)) : null),
      h("td", {}, ixBadge(w.status)),
      h(
        "td",
        {},
        last
          ? [
              h(
                "a",
                { href: href(`interactions/${encodeURIComponent(design.id)}/workflows/${encodeURIComponent(w.key)}/instances/${last.instance_id}`), "aria-label": `Instance ${last.instance_id} of ${design.name}: ${w.name}` },
                `#${last.instance_id}`,
              ),
              " ",
              ixBadge(last.status),
              " ",
              h("span", { class: "muted small" }, when(last.created_at)),
            ]
          : h("span", { class: "muted" }, "None yet"),
      ),
    );
  }

  function draw() {
    const all = rowsOf(designs, latest);
    const shown = all.filter((r) => matches(r, state));
    clear(tbody, shown.map(row));
    clear(message);
    if (!shown.length) {
      const filtered = state.q || state.state || state.kind;
      clear(
        message,
        h(
          "div",
          { class: "empty", role: "status" },
          h("p", {}, filtered ? "No interaction workflows match these filters and search." : "No interactions have been designed yet."),
          filtered ? h("button", { type: "button", class: "secondary", onclick: () => clearButton.click() }, "Clear filters") : null,
        ),
      );
    }
    summary.textContent = all.length
      ? `Showing ${shown.length} of ${all.length} workflows in ${designs.length} ${designs.length === 1 ? "interaction" : "interactions"}. Refreshed at ${new Date().toLocaleTimeString()}; refreshes every 30 seconds.`
      : "";
  }

  async function load({ quiet = false } = {}) {
    const mine = ++generation;
    if (!quiet) {
      table.setAttribute("aria-busy", "true");
      if (!tbody.children.length) clear(message, loading("Loading interactions…"));
    }
    try {
      const page = await api("GET", "api/interactions");
      // the latest instance of each workflow that has one
      const wanted = [];
      for (const d of page.items) for (const w of d.workflows) if (w.last_instance_id) wanted.push([d.id, w.key, w.last_instance_id]);
      const found = await Promise.all(
        wanted.map(([id, key, n]) =>
          api("GET", `api/interactions/${encodeURIComponent(id)}/workflows/${encodeURIComponent(key)}/instances/${n}`).catch(() => null),
        ),
      );
      if (mine !== generation) return;
      designs = [...page.items].sort((a, b) => a.name.localeCompare(b.name));
      latest = {};
      wanted.forEach(([id, key], i) => {
        if (found[i]) latest[`${id}/${key}`] = found[i];
      });
      draw();
    } catch (exc) {
      if (mine !== generation) return;
      clear(message, errorBanner(exc));
    } finally {
      if (mine === generation) table.removeAttribute("aria-busy");
    }
  }

  syncInputs();
  await load();
  timer = setInterval(() => load({ quiet: true }), REFRESH_MS);
  return () => {
    clearInterval(timer);
    clearTimeout(searchTimer);
    generation++;
  };
}
