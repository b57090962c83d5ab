// New interaction: a starter design to edit, saved with POST /api/interactions; the API's
// problems are listed by their path; a saved design opens on its own page.

import { api } from "./api.js";
import { can, href, navigate } from "./nav.js";
import { clear, field, h, setFieldError, toast } from "./ui.js";
import { problemsBanner } from "./ixui.js";

// Runs on `make run`'s demo catalog: the `customer` level over `customers`, the `email` channel.
export const STARTER = {
  description: "Offer WELCOME to every customer with an email address.",
  workflows: [
    {
      key: "main",
      name: "Main",
      trigger: { kind: "manual" },
      branches: [
        [
          {
            type: "batch_audience",
            name: "With email",
            resolution_level: "customer",
            rules: [{ column: "email", operator: "not_null" }],
            columns: ["email"],
          },
          { type: "offer", name: "Welcome offer", offer_code: "WELCOME", channel: "email" },
        ],
      ],
    },
  ],
};

export function render(main) {
  const crumbs = h("p", { class: "breadcrumb" }, h("a", { href: href("interactions") }, "Interactions"), " › ", h("span", {}, "New interaction"));
  if (!can("manage_interactions")) {
    clear(main, crumbs, h("h1", {}, "New interaction"), h("p", { class: "banner info", role: "status" }, "Your role may not design interactions. Ask an operator or an administrator."));
    return null;
  }
  const name = h("input", { type: "text", name: "name", autocomplete: "off", required: true, maxlength: 64, value: "Welcome" });
  const editor = h("textarea", { name: "design", rows: 24, spellcheck: "false", class: "design-editor" });
  editor.value = JSON.stringify(STARTER, null, 2);
  const status = h("div", { class: "form-status" });
  const create = h("button", { type: "submit", class: "primary" }, "Create interaction");
  const form = h(
    "form",
    {
      class: "card design-form",
      onsubmit: async (event) => {
        event.preventDefault();
        setFieldError(name, null);
        setFieldError(editor, null);
        clear(status);
        if (!name.value.trim()) {
          setFieldError(name, "Give the interaction a name.");
          name.focus();
          return;
        }
        let body;
        try {
          body = JSON.parse(editor.value);
        } catch (exc) {
          setFieldError(editor, `The design is not valid JSON: ${exc.message}`);
          editor.focus();
          return;
        }
        if (!body || typeof body !== "object" || Array.isArray(body)) {
          setFieldError(editor, "The design must be a JSON object with its workflows.");
          editor.focus();
          return;
        }
        body = { ...body, name: name.value.trim() };
        create.disabled = true;
        create.textContent = "Creating…";
        try {
          const saved = await api("POST", "api/interactions", body);
          toast(saved.warnings && saved.warnings.length ? `Saved ${saved.name}, with ${saved.warnings.length} warning(s).` : `Saved ${saved.name}.`);
          navigate(`interactions/${encodeURIComponent(saved.id)}`);
        } catch (exc) {
          clear(status, problemsBanner(exc));
          create.disabled = false;
          create.textContent = "Create interaction";
          status.querySelector("[role=alert]").setAttribute("tabindex", "-1");
          status.querySelector("[role=alert]").focus();
        }
      },
    },
    field({ id: "interaction-name", label: "Name", hint: "Letters, digits, spaces, _ and -; up to 64 characters.", input: name }),
    field({
      id: "interaction-design",
      label: "Design (JSON)",
      hint: "A starter design that runs on the demo catalog: one manual workflow whose branch selects customers with an email and offers them WELCOME. The name comes from the field above. See docs/interactions.md for every field.",
      input: editor,
    }),
    status,
    h("div", { class: "actions" }, create, h("a", { class: "button secondary", href: href("interactions") }, "Cancel")),
  );
  clear(main, crumbs, h("div", { class: "page-head" }, h("h1", {}, "New interaction")), form);
  return null;
}
