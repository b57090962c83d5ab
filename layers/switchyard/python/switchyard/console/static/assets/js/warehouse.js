// The warehouse: the tables Switchyard holds, with their columns, and the catalog that says what
// they mean for interactions (GET /api/warehouse/catalog), so designers know what a design may
// name. Administrators edit the catalog's JSON (PUT); a refused catalog lists its problems by path,
// and one that would break saved designs lists them with a "Save anyway" (?confirm_breaking=true).

import { api } from "./api.js";
import { can, href } from "./nav.js";
import { clear, errorBanner, field, h, loading, setFieldError } from "./ui.js";
import { problemList, problemsBanner } from "./ixui.js";

export async function render(main) {
  let view = null;
  let filter = "";
  let dirty = false;
  const admin = can("manage_catalog");

  const crumbs = h("p", { class: "breadcrumb" }, h("a", { href: href("interactions") }, "Interactions"), " › ", h("span", {}, "Warehouse"));
  const head = h("div", { class: "page-head" }, h("h1", {}, "Warehouse"));
  const intro = h(
    "p",
    { class: "muted" },
    "The tables Switchyard holds in the data bucket, with their columns, and the catalog that says what they mean for interactions: the resolution levels audiences select from, the joins, channels, offer-history metadata and export templates. Designs are validated against both.",
  );
  const warnings = h("div");
  const summary = h("section", { class: "card wh-catalog", "aria-labelledby": "wh-catalog-title" });
  const search = h("input", { type: "search", autocomplete: "off", placeholder: "e.g. customers, email" });
  const tablesBox = h("section", { class: "wh-tables", "aria-labelledby": "wh-tables-title" });
  const editor = h("textarea", { rows: 18, spellcheck: "false", class: "design-editor" });
  const status = h("div", { class: "form-status" });
  const save = h("button", { type: "submit", class: "primary", id: "save-catalog" }, "Save catalog");
  const revert = h("button", { type: "button", class: "secondary", id: "revert-catalog" }, "Discard changes");
  const form = h(
    "form",
    { class: "card design-form", "aria-labelledby": "wh-json-title", onsubmit: (e) => (e.preventDefault(), saveCatalog()) },
    h("h2", { id: "wh-json-title" }, "Catalog (JSON)"),
    admin ? null : h("p", { class: "muted small", "data-state": "read-only" }, "Read only: administrators change the catalog."),
    field({
      id: "catalog-json",
      label: "Catalog",
      hint: "resolution_levels, primary_keys, joins, offer_history_meta, channels, export_templates and restricted, as in docs/interactions.md. Saving checks every table and column against the warehouse.",
      input: editor,
    }),
    status,
    admin ? h("div", { class: "actions" }, save, revert) : null,
  );
  if (!admin) editor.readOnly = true;
  editor.addEventListener("input", () => (dirty = true));
  revert.addEventListener("click", () => {
    dirty = false;
    editor.value = JSON.stringify(view.catalog, null, 2);
    setFieldError(editor, null);
    clear(status);
  });
  search.addEventListener("input", () => {
    filter = search.value.trim().toLowerCase();
    drawTables();
  });

  clear(main, crumbs, head, loading("Loading the warehouse…"));
  try {
    view = await api("GET", "api/warehouse/catalog");
  } catch (exc) {
    clear(main, crumbs, head, errorBanner(exc));
    return null;
  }
  clear(
    main,
    crumbs,
    head,
    intro,
    warnings,
    summary,
    h("h2", { id: "wh-tables-title" }, "Tables"),
    h("form", { class: "inline-filters", role: "search", onsubmit: (e) => e.preventDefault() }, field({ id: "wh-filter", label: "Filter tables and columns", input: search })),
    tablesBox,
    form,
  );
  draw();

  function draw() {
    if (!dirty) editor.value = JSON.stringify(view.catalog, null, 2);
    drawWarnings();
    drawSummary();
    drawTables();
  }

  function drawWarnings() {
    const list = view.problems || [];
    clear(warnings, list.length ? h("div", { class: "banner warning", "data-state": "catalog-warnings" }, h("p", {}, `The catalog has ${list.length} ${list.length === 1 ? "warning" : "warnings"}:`), problemList(list)) : null);
  }

  // Which columns the catalog uses as keys, and which level reads which table.
  function roles() {
    const c = view.catalog || {};
    const keys = {};
    const levels = {};
    for (const [table, cols] of Object.entries(c.primary_keys || {})) keys[table] = new Set(cols);
    for (const [level, spec] of Object.entries(c.resolution_levels || {})) {
      (levels[spec.table] ||= []).push(level);
      (keys[spec.table] ||= new Set()).add(spec.key);
    }
    return { keys, levels };
  }

  function drawSummary() {
    const c = view.catalog || {};
    const pairs = [];
    const pair = (label, value) => pairs.push(h("dt", {}, label), h("dd", {}, value));
    const none = h("span", { class: "muted" }, "none");
    const levels = Object.entries(c.resolution_levels || {});
    pair("Resolution levels", levels.length ? h("ul", { class: "plain" }, levels.map(([name, spec]) => h("li", { "data-level": name }, h("strong", {}, name), `: table ${spec.table}, key ${spec.key}`))) : none);
    pair("Channels", (c.channels || []).length ? c.channels.join(", ") : none);
    const joins = c.joins || [];
    pair("Joins", joins.length ? h("ul", { class: "plain" }, joins.map((j) => h("li", {}, `${j.from}.${j.left} = ${j.to}.${j.right}`))) : none);
    const meta = Object.entries(c.offer_history_meta || {});
    pair("Offer history metadata", meta.length ? meta.map(([k, t]) => `${k} (${t})`).join(", ") : none);
    const templates = Object.entries(c.export_templates || {});
    pair("Export templates", templates.length ? h("ul", { class: "plain" }, templates.map(([name, t]) => h("li", {}, h("strong", {}, name), `: ${(t.columns || []).join(", ")}`))) : none);
    const restricted = Object.entries(c.restricted || {}).flatMap(([kind, names]) => Object.entries(names || {}).map(([name, who]) => `${kind.replaceAll("_", " ")} ${name}: ${who.join(", ")}`));
    pair("Restricted", restricted.length ? h("ul", { class: "plain" }, restricted.map((r) => h("li", {}, r))) : h("span", { class: "muted" }, "nothing: everyone may use every name"));
    clear(summary, h("h2", { id: "wh-catalog-title" }, "Catalog"), h("dl", { class: "pairs" }, pairs));
  }

  function drawTables() {
    const { keys, levels } = roles();
    const shown = view.tables
      .map((t) => ({ ...t, columns: filter && !t.name.toLowerCase().includes(filter) ? t.columns.filter((col) => col.name.toLowerCase().includes(filter)) : t.columns }))
      .filter((t) => !filter || t.name.toLowerCase().includes(filter) || t.columns.length);
    clear(
      tablesBox,
      h("p", { class: "muted small", role: "status" }, filter ? `${shown.length} of ${view.tables.length} tables match “${search.value.trim()}”.` : `${view.tables.length} tables.`),
      h(
        "div",
        { class: "wh-grid" },
        shown.map((t) =>
          h(
            "section",
            { class: "card wh-table", "data-table": t.name, "aria-labelledby": `table-${t.name}` },
            h("h3", { id: `table-${t.name}` }, t.name, (levels[t.name] || []).map((l) => h("span", { class: "tag" }, `level ${l}`))),
            h(
              "table",
              { class: "columns" },
              h("caption", { class: "visually-hidden" }, `Columns of ${t.name}`),
              h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Column"), h("th", { scope: "col" }, "Type"))),
              h(
                "tbody",
                {},
                t.columns.map((col) =>
                  h("tr", { "data-column": col.name }, h("td", {}, h("code", {}, col.name), keys[t.name] && keys[t.name].has(col.name) ? h("span", { class: "tag" }, "key") : null), h("td", {}, col.type)),
                ),
              ),
            ),
          ),
        ),
      ),
    );
  }

  // 409 catalog_breaks_designs: each design and what breaks in it, and a way to go ahead.
  function brokenBanner(exc, body) {
    const designs = exc.details.designs || [];
    const anyway = h("button", { type: "button", class: "danger" }, `Save anyway (breaks ${designs.length} design${designs.length === 1 ? "" : "s"})`);
    anyway.addEventListener("click", () => saveCatalog(true, body));
    return errorBanner(
      { message: `This catalog would break ${designs.length} saved interaction design${designs.length === 1 ? "" : "s"}. Change the designs first, or save anyway.`, code: exc.code },
      h(
        "div",
        {},
        designs.map((d) =>
          h(
            "section",
            { class: "wh-broken", "data-design": d.id },
            h("h3", {}, h("a", { href: href(`interactions/${encodeURIComponent(d.id)}`) }, d.name), d.active.length ? h("span", { class: "tag" }, `active: ${d.active.join(", ")}`) : null),
            problemList(d.problems),
          ),
        ),
        h("p", {}, anyway),
      ),
    );
  }

  async function saveCatalog(confirmBreaking = false, confirmedBody = undefined) {
    setFieldError(editor, null);
    clear(status);
    if (confirmBreaking) {
      // the catalog the administrator saw the breakage of, not what the editor holds since
      return submit(confirmedBody, true);
    }
    let body;
    try {
      body = JSON.parse(editor.value);
    } catch (exc) {
      setFieldError(editor, `The catalog is not valid JSON: ${exc.message}`);
      editor.focus();
      return;
    }
    return submit(body, false);
  }

  async function submit(body, confirmBreaking) {
    save.disabled = true;
    save.textContent = "Saving…";
    try {
      view = await api("PUT", `api/warehouse/catalog${confirmBreaking ? "?confirm_breaking=true" : ""}`, body);
      dirty = false;
      draw();
      clear(status, h("div", { class: "banner info", role: "status" }, h("p", {}, "Saved: designs are validated against this catalog from now on.")));
    } catch (exc) {
      const alert = exc.code === "catalog_breaks_designs" ? brokenBanner(exc, body) : problemsBanner(exc);
      alert.setAttribute("tabindex", "-1");
      clear(status, alert);
      setFieldError(editor, "The catalog was not saved: see the problems below.");
      alert.focus();
    } finally {
      save.disabled = false;
      save.textContent = "Save catalog";
    }
  }

  return null;
}
