// The outbox (local runtime): the emails and Slack messages Switchyard sent, newest first.

import { api, query } from "./api.js";
import { clear, errorBanner, field, h, loading, notAvailable, openDialog, timeElement } from "./ui.js";

const REFRESH_MS = 10_000;

export async function render(main, _params, session) {
  clear(main, h("div", { class: "page-head" }, h("h1", {}, "Outbox")));
  if (!session.features.outbox) {
    main.append(notAvailable("The outbox"));
    return null;
  }
  const params = new URLSearchParams(location.search);
  const channel = h("select", {}, h("option", { value: "" }, "Email and Slack"), h("option", { value: "email" }, "Email"), h("option", { value: "slack" }, "Slack"));
  channel.value = params.get("channel") || "";
  const message = h("div");
  const tbody = h("tbody");
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Show more");
  let cursor = null;
  let timer = null;

  main.append(
    h("p", { class: "muted" }, "What this local runtime sent: nothing leaves your machine unless a real Slack webhook is configured."),
    h("form", { class: "inline-filters", onsubmit: (e) => e.preventDefault() }, field({ id: "outbox-channel", label: "Channel", input: channel })),
    message,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "outbox" },
        h("caption", { class: "visually-hidden" }, "Messages sent"),
        h("thead", {}, h("tr", {}, ["Sent", "Channel", "Recipient", "Subject", "Workflow", "Status", ""].map((c) => h("th", { scope: "col" }, c)))),
        tbody,
      ),
    ),
    more,
  );

  function row(item) {
    return h(
      "tr",
      { "data-id": item.id, "data-channel": item.channel },
      h("td", {}, timeElement(item.sent_at || item.created_at)),
      h("td", {}, item.channel === "slack" ? "Slack" : "Email"),
      h("td", {}, item.recipient),
      h("td", {}, item.subject || (item.text || "").split("\n")[0]),
      h("td", {}, item.link ? h("a", { href: item.link, class: "outbox-link" }, "View workflow", h("span", { class: "visually-hidden" }, ` ${item.workflow_name || ""}`)) : item.workflow_name || "—"),
      h("td", {}, item.status, item.last_error ? h("span", { class: "muted small" }, ` (${item.last_error})`) : null),
      h("td", {}, h("button", { type: "button", class: "link-button", onclick: () => show(item), "aria-label": `View message to ${item.recipient}` }, "View message")),
    );
  }

  function show(item) {
    openDialog({
      title: item.subject || `Slack message to ${item.recipient}`,
      wide: true,
      body: [
        h("dl", { class: "pairs" }, h("dt", {}, "To"), h("dd", {}, item.recipient), h("dt", {}, "Channel"), h("dd", {}, item.channel), h("dt", {}, "Status"), h("dd", {}, `${item.status} after ${item.attempts} attempt(s)`)),
        h("pre", { class: "code message-text", tabindex: "0" }, item.text || ""),
        item.link ? h("p", {}, h("a", { href: item.link }, "View workflow")) : null,
      ],
      actions: [h("button", { type: "button", class: "secondary", onclick: (e) => e.target.closest("dialog").close() }, "Close")],
    });
  }

  async function load({ append = false } = {}) {
    if (!append && !tbody.children.length) clear(message, loading("Loading the outbox…"));
    try {
      const page = await api("GET", `api/outbox${query({ channel: channel.value, limit: 50, cursor: append ? cursor : null })}`);
      clear(message);
      if (append) tbody.append(...page.items.map(row));
      else clear(tbody, page.items.map(row));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      if (!tbody.children.length) clear(message, h("p", { class: "empty", role: "status" }, "Nothing has been sent yet."));
    } catch (exc) {
      clear(message, errorBanner(exc));
    }
  }
  channel.addEventListener("change", () => {
    history.replaceState(null, "", `${location.pathname}${query({ channel: channel.value })}`);
    clear(tbody);
    load();
  });
  more.addEventListener("click", () => load({ append: true }));
  await load();
  timer = setInterval(() => {
    if (!cursor) load();
  }, REFRESH_MS);
  return () => clearInterval(timer);
}
