// The Workflows page: filters, search, sorting and paging (all in the URL), refreshed every
// 30 seconds in place, with the Recent activity pane beside it.

import { api, query } from "./api.js";
import { openAlertSettings } from "./alerts.js";
import { href } from "./nav.js";
import { clear, errorBanner, field, h, loading, notAvailable, runDuration, runStatus, statusBadge, timeElement } from "./ui.js";

export const REFRESH_MS = 30_000;
const PAGE_SIZES = [10, 25, 50, 100];
const STATUSES = ["running", "stopping", "stopped", "succeeded", "failed"];
// The badge of a recent alert by its kind (failure and query_threshold: failed).
const ALERT_BADGES = { success: "succeeded", stopped: "stopped", warnings: "issue", duration: "running" };
const FILTERS = ["status", "type", "started_by", "q", "sort", "order", "limit", "cursor"];

let typeTitles = {};

function readState() {
  const params = new URLSearchParams(location.search);
  const state = {};
  for (const key of FILTERS) state[key] = params.get(key) || "";
  state.sort = state.sort === "name" ? "name" : "started_at";
  state.order = state.order === "asc" ? "asc" : "desc";
  const limit = Number.parseInt(state.limit, 10);
  state.limit = Number.isInteger(limit) && limit >= 1 && limit <= 200 ? String(limit) : "25";
  return state;
}

function writeState(state) {
  const shown = { ...state };
  if (shown.sort === "started_at") delete shown.sort;
  if (shown.order === "desc") delete shown.order;
  if (shown.limit === "25") delete shown.limit;
  history.replaceState(null, "", href(`workflows${query(shown)}`));
}

export async function render(main, _params, session) {
  let state = readState();
  const previousCursors = [];
  let timer = null;
  let searchTimer = null;
  let generation = 0;

  // --- filters pane ---
  const status = h("select", { name: "status" }, h("option", { value: "" }, "Any status"), STATUSES.map((s) => h("option", { value: s }, s[0].toUpperCase() + s.slice(1))));
  const type = h("select", { name: "type" }, h("option", { value: "" }, "Any type"));
  const startedBy = h("input", { type: "text", name: "started_by", list: "started-by-options", autocomplete: "off", placeholder: "automated or a user" });
  const startedByOptions = h("datalist", { id: "started-by-options" }, h("option", { value: "automated" }), h("option", { value: session.me.subject }));
  const clearButton = h("button", { type: "button", class: "secondary" }, "Clear filters");
  const filters = h(
    "form",
    { class: "filters card", "aria-label": "Filters", onsubmit: (e) => e.preventDefault() },
    h("h2", {}, "Filters"),
    field({ id: "filter-status", label: "Status", input: status }),
    field({ id: "filter-type", label: "Type", input: type }),
    field({ id: "filter-started-by", label: "Started by", input: startedBy }),
    startedByOptions,
    clearButton,
  );

  // --- search, table, paging ---
  const search = h("input", { type: "search", name: "q", autocomplete: "off", placeholder: "e.g. failed, dec, daily" });
  const summary = h("p", { class: "muted small", "aria-live": "polite" });
  const message = h("div");
  const tbody = h("tbody");
  const sortButton = (key, label) =>
    h("button", { type: "button", class: "sort", "data-sort": key, onclick: () => changeSort(key) }, label, h("span", { class: "sort-mark", "aria-hidden": "true" }));
  const nameHeader = h("th", { scope: "col", "data-col": "name" }, sortButton("name", "Name"));
  const startHeader = h("th", { scope: "col", "data-col": "started_at" }, sortButton("started_at", "Start time"));
  const table = h(
    "table",
    { class: "runs" },
    h("caption", { class: "visually-hidden" }, "Workflow runs"),
    h("thead", {}, h("tr", {}, nameHeader, h("th", { scope: "col" }, "Type"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Started by"), startHeader, h("th", { scope: "col" }, "Duration"))),
    tbody,
  );
  const first = h("button", { type: "button", class: "secondary" }, "First page");
  const prev = h("button", { type: "button", class: "secondary" }, "Previous page");
  const next = h("button", { type: "button", class: "secondary" }, "Next page");
  const pageSize = h("select", { id: "page-size" }, PAGE_SIZES.map((n) => h("option", { value: String(n) }, String(n))));
  if (!PAGE_SIZES.includes(Number(state.limit))) pageSize.append(h("option", { value: state.limit }, state.limit));
  pageSize.addEventListener("change", () => update({ limit: pageSize.value }));
  const pager = h(
    "nav",
    { class: "pager", "aria-label": "Pages" },
    h("label", { for: "page-size", class: "page-size" }, "Rows per page ", pageSize),
    first,
    prev,
    next,
  );

  const alertsButton = session.features.automatedAlerts
    ? h("button", { type: "button", class: "secondary", onclick: () => openAlertSettings(session) }, "Automated workflow alerts")
    : null;
  const activity = h("aside", { class: "activity card", "aria-labelledby": "activity-title" }, h("h2", { id: "activity-title" }, "Recent activity"), h("div", { class: "activity-body" }));

  clear(
    main,
    h("div", { class: "page-head" }, h("h1", {}, "Workflows"), h("div", { class: "actions" }, alertsButton)),
    h(
      "div",
      { class: "workflows-layout" },
      filters,
      h(
        "section",
        { class: "runs-pane", "aria-label": "Workflow runs" },
        field({ id: "search", label: "Search workflows", hint: "Matches names, types, who started them, months (\"dec\") and statuses (\"failed\").", input: search }),
        summary,
        message,
        h("div", { class: "table-wrap" }, table),
        pager,
      ),
      activity,
    ),
  );

  // --- behaviour ---
  function syncInputs() {
    status.value = state.status;
    type.value = state.type;
    startedBy.value = state.started_by;
    pageSize.value = state.limit;
    if (document.activeElement !== search) search.value = state.q;
    for (const [header, key] of [[nameHeader, "name"], [startHeader, "started_at"]]) {
      const active = state.sort === key;
      header.setAttribute("aria-sort", active ? (state.order === "asc" ? "ascending" : "descending") : "none");
      header.querySelector(".sort-mark").textContent = active ? (state.order === "asc" ? " ▲" : " ▼") : "";
    }
  }

  function update(changes, { keepPage = false } = {}) {
    state = { ...state, ...changes };
    if (!keepPage) {
      state.cursor = "";
      previousCursors.length = 0;
    }
    writeState(state);
    syncInputs();
    load();
  }

  function changeSort(key) {
    const order = state.sort === key ? (state.order === "asc" ? "desc" : "asc") : key === "name" ? "asc" : "desc";
    update({ sort: key, order });
  }

  status.addEventListener("change", () => update({ status: status.value }));
  type.addEventListener("change", () => update({ type: type.value }));
  startedBy.addEventListener("change", () => {
    if (startedBy.value.trim() !== state.started_by) update({ started_by: startedBy.value.trim() });
  });
  startedBy.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && startedBy.value.trim() !== state.started_by) update({ started_by: startedBy.value.trim() });
  });
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => update({ q: search.value.trim() }), 300);
  });
  search.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      clearTimeout(searchTimer);
      update({ q: search.value.trim() });
    }
  });
  clearButton.addEventListener("click", () => {
    search.value = "";
    update({ status: "", type: "", started_by: "", q: "" });
  });
  first.addEventListener("click", () => update({}));
  prev.addEventListener("click", () => {
    const cursor = previousCursors.pop() || "";
    update({ cursor }, { keepPage: true });
  });
  next.addEventListener("click", () => {
    if (!next.dataset.cursor) return;
    previousCursors.push(state.cursor);
    update({ cursor: next.dataset.cursor }, { keepPage: true });
  });

  function row(item) {
    const shown = runStatus(item);
    return h(
      "tr",
      { "data-id": item.id, "data-status": shown },
      h("td", {}, h("a", { href: href(`workflows/${encodeURIComponent(item.id)}`) }, item.name), item.mode === "test" ? h("span", { class: "tag" }, "test") : null),
      h("td", {}, typeTitles[item.type] || item.type),
      h("td", {}, statusBadge(shown)),
      h("td", {}, item.started_by),
      h("td", {}, timeElement(item.started_at)),
      h("td", {}, runDuration(item)),
    );
  }

  // Refreshing replaces the rows in place: the filters, the focus and the scroll stay.
  async function load({ quiet = false } = {}) {
    const mine = ++generation;
    if (!quiet) {
      table.setAttribute("aria-busy", "true");
      if (!tbody.children.length) clear(message, loading("Loading workflows…"));
    }
    try {
      const page = await api(
        "GET",
        `api/workflows${query({ status: state.status, type: state.type, started_by: state.started_by, q: state.q, sort: state.sort, order: state.order, limit: state.limit, cursor: state.cursor })}`,
      );
      if (mine !== generation) return;
      clear(message);
      clear(tbody, page.items.map(row));
      if (!page.items.length) {
        const filtered = state.status || state.type || state.started_by || state.q;
        clear(
          message,
          h(
            "div",
            { class: "empty", role: "status" },
            h("p", {}, filtered ? "No workflows match these filters and search." : "No workflows have run yet."),
            filtered ? h("button", { type: "button", class: "secondary", onclick: () => clearButton.click() }, "Clear filters") : null,
          ),
        );
      }
      next.dataset.cursor = page.next_cursor || "";
      next.disabled = !page.next_cursor;
      prev.disabled = !previousCursors.length;
      first.disabled = !state.cursor;
      const start = previousCursors.length * Number(state.limit);
      summary.textContent = page.items.length
        ? `Showing ${start + 1}–${start + page.items.length}${page.next_cursor ? "" : ` of ${start + page.items.length}`}. Refreshed at ${new Date().toLocaleTimeString()}; refreshes every 30 seconds.`
        : "";
    } catch (exc) {
      if (mine !== generation) return;
      clear(message, errorBanner(exc));
    } finally {
      if (mine === generation) table.removeAttribute("aria-busy");
    }
  }

  async function loadTypes() {
    try {
      const types = await api("GET", "api/workflow-types");
      typeTitles = Object.fromEntries(types.items.map((t) => [t.id, t.title]));
      type.append(...types.items.map((t) => h("option", { value: t.id }, t.title)));
      syncInputs();
    } catch (exc) {
      clear(message, errorBanner(exc));
    }
  }

  async function loadActivity() {
    const body = activity.querySelector(".activity-body");
    if (!session.features.recentAlerts) {
      clear(body, notAvailable("Recent activity"));
      return;
    }
    if (!body.children.length) clear(body, loading("Loading recent activity…"));
    try {
      const recent = await api("GET", "api/alerts/recent?limit=10");
      if (!recent.items.length) {
        clear(body, h("p", { class: "muted", role: "status" }, "Nothing needs attention."));
        return;
      }
      clear(
        body,
        h(
          "ul",
          { class: "activity-list" },
          recent.items.map((item) =>
            h(
              "li",
              { "data-kind": item.kind },
              h("p", { class: "activity-title" }, statusBadge(ALERT_BADGES[item.kind] || "failed"), " ", h("strong", {}, item.workflow_name)),
              h("p", { class: "small" }, item.message),
              h("p", { class: "muted small" }, timeElement(item.created_at)),
              h("a", { href: href(`workflows/${encodeURIComponent(item.workflow_id)}`), "aria-label": `View workflow ${item.workflow_name}` }, "View workflow"),
            ),
          ),
        ),
      );
    } catch (exc) {
      clear(body, errorBanner(exc));
    }
  }

  syncInputs();
  await loadTypes();
  await Promise.all([load(), loadActivity()]);
  timer = setInterval(() => {
    load({ quiet: true });
    loadActivity();
  }, REFRESH_MS);

  return () => {
    clearInterval(timer);
    clearTimeout(searchTimer);
    generation++;
  };
}
