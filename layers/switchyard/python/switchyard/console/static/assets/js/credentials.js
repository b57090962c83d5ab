// Credentials (administrators and operators): each source's and destination's credential by
// name, the fields stored and when and by whom they last changed; never a value. Update one
// through a form of its kind's fields. Opened from a failed run's "Update credentials"
// resolution as credentials?name=<destination>&back=workflows/<id>, it links back to the run.

import { api } from "./api.js";
import { href } from "./nav.js";
import { clear, errorBanner, field, h, loading, openDialog, setFieldError, timeElement, toast } from "./ui.js";

const MULTILINE = new Set(["private_key"]);
const VISIBLE = new Set(["username", "role_arn", "external_id", "rest_endpoint", "subdomain", "customer_id", "advertiser_id", "ad_account_id"]);

export async function render(main, _params, session) {
  clear(main, h("div", { class: "page-head" }, h("h1", {}, "Credentials")));
  if (!session.me.permissions.includes("manage_credentials")) {
    main.append(h("div", { class: "banner info", role: "status" }, h("p", {}, "Only administrators and operators manage credentials.")));
    return null;
  }
  const params = new URLSearchParams(location.search);
  // only a run's page of this console: never a link elsewhere
  const back = /^workflows\/[A-Za-z0-9-]+$/.test(params.get("back") || "") ? params.get("back") : null;
  const backLink = () => h("a", { href: href(back), class: "back-to-run" }, "Back to the run");
  const message = h("div");
  const tbody = h("tbody");
  main.append(
    back ? h("p", {}, backLink(), h("span", { class: "muted" }, " (then Resolve with Update credentials: the task restarts with the new ones)")) : null,
    h("p", { class: "muted" }, "Values are stored in Secrets Manager and never shown again, here or in the API."),
    message,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "credentials" },
        h("caption", { class: "visually-hidden" }, "Credentials"),
        h("thead", {}, h("tr", {}, ["Name", "Kind", "Used as", "Fields stored", "Last changed", ""].map((c) => h("th", { scope: "col" }, c)))),
        tbody,
      ),
    ),
  );

  function row(item) {
    return h(
      "tr",
      { "data-name": item.name },
      h("td", {}, item.name),
      h("td", {}, item.kind),
      h("td", {}, item.used_as),
      h("td", {}, item.stored ? (item.fields ? item.fields.join(", ") : "stored (fields not recorded)") : h("span", { class: "badge expired" }, "none stored")),
      h("td", {}, item.updated_at ? [timeElement(item.updated_at), ` by ${item.updated_by}`] : "—"),
      h("td", {}, h("button", { type: "button", class: "link-button", "aria-label": `Update the credentials of ${item.name}`, onclick: () => edit(item) }, "Update")),
    );
  }

  function edit(item) {
    const names = [...item.required_fields, ...item.optional_fields];
    const inputs = {};
    const status = h("div", { class: "form-status" });
    const save = h("button", { type: "submit", class: "primary", form: "credentials-form" }, "Save credentials");
    const form = h(
      "form",
      { id: "credentials-form", class: "stack", novalidate: true },
      names.map((name) => {
        const optional = item.optional_fields.includes(name);
        const input = MULTILINE.has(name)
          ? h("textarea", { rows: 4, spellcheck: "false", autocomplete: "off" })
          : h("input", { type: VISIBLE.has(name) ? "text" : "password", autocomplete: "off", spellcheck: "false" });
        inputs[name] = input;
        return field({ id: `cred-${name}`, label: `${name}${optional ? " (optional)" : ""}`, input });
      }),
      item.kind === "sftp" ? h("p", { class: "hint" }, "Give a password or a private key.") : null,
      status,
    );
    const dlg = openDialog({
      title: `Update the credentials of ${item.name}`,
      body: [h("p", { class: "muted" }, `A ${item.kind} credential, stored in secret ${item.secret || "(none configured)"}. The values you type replace the stored ones.`), form],
      actions: [h("button", { type: "button", class: "secondary", onclick: () => dlg.close() }, "Cancel"), save],
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const fields = {};
      for (const [name, input] of Object.entries(inputs)) {
        setFieldError(input, null);
        if (input.value !== "") fields[name] = MULTILINE.has(name) ? input.value : input.value.trim();
      }
      save.disabled = true;
      try {
        await api("PUT", `api/credentials/${encodeURIComponent(item.name)}`, { kind: item.kind, fields });
        dlg.close();
        toast(`Credentials of ${item.name} saved.`);
        await load();
        if (back) main.querySelector(".back-to-run").focus();
      } catch (exc) {
        for (const p of (exc.details && exc.details.problems) || []) if (inputs[p.field]) setFieldError(inputs[p.field], p.problem);
        clear(status, errorBanner(exc));
        save.disabled = false;
      }
    });
    const first = Object.values(inputs)[0];
    if (first) first.focus();
  }

  async function load() {
    if (!tbody.children.length) clear(message, loading("Loading the credentials…"));
    try {
      const page = await api("GET", "api/credentials");
      clear(message);
      clear(tbody, page.items.map(row));
      if (!page.items.length) clear(message, h("p", { class: "empty", role: "status" }, "No source or destination takes credentials."));
      return page.items;
    } catch (exc) {
      clear(message, errorBanner(exc));
      return [];
    }
  }

  const items = await load();
  const wanted = items.find((i) => i.name === params.get("name"));
  if (wanted) edit(wanted);
  return null;
}
