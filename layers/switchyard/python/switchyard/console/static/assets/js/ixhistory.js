// An instance's offer history, one row per record and offer or control activity, page by page
// (GET .../instances/{n}/offer-history with limit and cursor), filtered by activity or record.

import { api, query } from "./api.js";
import { clear, errorBanner, field, h, timeElement } from "./ui.js";

export const PAGE_SIZE = 25;
const RECORDING = new Set(["offer", "control", "decision_offer"]);

export function offerHistory({ base, instanceId }) {
  let cursors = [null]; // the cursor of each page seen so far; the last is the current page's
  let next = null;
  let filters = { activity: "", record_id: "" };
  let shownActivities = "";
  let generation = 0; // a page read later than another wins, whichever answers first

  const activity = h("select", {}, h("option", { value: "" }, "All offer and control activities"));
  const record = h("input", { type: "search", autocomplete: "off", spellcheck: "false", placeholder: "e.g. c0002" });
  const status = h("div");
  const tbody = h("tbody");
  const pageLabel = h("span", { class: "muted small", role: "status" });
  const previous = h("button", { type: "button", class: "secondary", id: "history-previous", onclick: () => go(cursors.length - 2) }, "Previous page");
  const nextButton = h("button", { type: "button", class: "secondary", id: "history-next", onclick: () => go(cursors.length) }, "Next page");
  const table = h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "offer-history" },
      h("caption", { class: "visually-hidden" }, `Offer history of instance ${instanceId}`),
      h("thead", {}, h("tr", {}, ["Record", "Activity", "Branch", "Offer code", "Channel", "Time", "Details"].map((l) => h("th", { scope: "col" }, l)))),
      tbody,
    ),
  );
  const el = h(
    "section",
    { class: "card ix-history", "aria-labelledby": "history-title" },
    h("h2", { id: "history-title" }, "Offer history"),
    h("p", { class: "muted small" }, `The records this instance offered or held as a control, ${PAGE_SIZE} a page, in the order of the workflow's activities.`),
    h(
      "form",
      {
        class: "history-filters",
        role: "search",
        "aria-label": "Offer history filters",
        onsubmit: (e) => {
          e.preventDefault();
          filters = { activity: activity.value, record_id: record.value.trim() };
          cursors = [null];
          load();
        },
      },
      field({ id: "history-activity", label: "Activity", input: activity }),
      field({ id: "history-record", label: "Record id", input: record }),
      h("button", { type: "submit", class: "secondary", id: "history-apply" }, "Show"),
    ),
    status,
    table,
    h("div", { class: "pager" }, previous, pageLabel, nextButton),
  );

  function go(index) {
    if (index < 0) return;
    if (index === cursors.length) {
      if (!next) return;
      cursors.push(next);
    } else {
      cursors = cursors.slice(0, index + 1);
    }
    load();
  }

  function row(item) {
    return h(
      "tr",
      { "data-record": item.record_id, "data-activity": item.activity },
      h("td", {}, h("code", {}, item.record_id)),
      h("td", {}, item.activity),
      h("td", {}, String(item.branch ?? "—")),
      h("td", {}, item.offer_code || "—", item.control ? h("span", { class: "tag" }, "control") : null),
      h("td", {}, item.channel || "—"),
      h("td", {}, timeElement(item.time)),
      h("td", {}, item.details ? h("code", { class: "small" }, Object.entries(item.details).map(([k, v]) => `${k}: ${v}`).join(", ")) : "—"),
    );
  }

  async function load() {
    const cursor = cursors[cursors.length - 1];
    const mine = ++generation;
    previous.disabled = true;
    nextButton.disabled = true;
    try {
      const page = await api("GET", `${base}/instances/${instanceId}/offer-history${query({ ...filters, limit: PAGE_SIZE, cursor })}`);
      if (mine !== generation) return;
      next = page.next_cursor || null;
      clear(status);
      clear(tbody, page.items.length ? page.items.map(row) : h("tr", {}, h("td", { colspan: 7, class: "muted" }, filters.activity || filters.record_id ? "No offer history matches." : "No offer history yet.")));
      pageLabel.textContent = `Page ${cursors.length}${page.items.length ? `: ${page.items.length} ${page.items.length === 1 ? "row" : "rows"}` : ""}`;
      previous.disabled = cursors.length < 2;
      nextButton.disabled = !next;
    } catch (exc) {
      if (mine !== generation) return;
      clear(status, errorBanner(exc));
      previous.disabled = cursors.length < 2;
    }
  }

  // The activity filter lists the instance's activities that record offer history.
  function setActivities(activities) {
    const names = [...new Set(activities.filter((a) => RECORDING.has(a.type)).map((a) => a.name))];
    const key = names.join("\u0000");
    if (key === shownActivities) return;
    shownActivities = key;
    const chosen = activity.value;
    clear(activity, h("option", { value: "" }, "All offer and control activities"), names.map((n) => h("option", { value: n }, n)));
    activity.value = names.includes(chosen) ? chosen : "";
  }

  return { el, load, setActivities };
}
