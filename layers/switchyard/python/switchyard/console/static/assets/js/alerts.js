// Alerts: the automated workflow alerts dialog (emails and Slack channels per group) and the
// per-run subscriptions dialog.

import { api } from "./api.js";
import { clear, errorBanner, field, h, loading, openDialog, setFieldError, timeElement, toast } from "./ui.js";

export const GROUPS = [
  ["campaigns", "Campaigns"],
  ["courier_groups", "Courier groups"],
  ["scheduled_orchestration_groups", "Scheduled orchestration groups"],
];

export function splitList(text) {
  return text
    .split(/[\s,;]+/)
    .map((v) => v.trim())
    .filter(Boolean);
}

const EMAIL = /^[^@\s]+@([^@\s]+\.[^@\s]+)$/;

// The same checks the API makes, so people see what to fix before saving.
export function emailProblems(emails, allowedDomains) {
  const allowed = (allowedDomains || []).map((d) => d.toLowerCase());
  const problems = [];
  for (const email of emails) {
    const m = email.match(EMAIL);
    if (!m) problems.push(`${email} is not an email address.`);
    else if (allowed.length && !allowed.includes(m[1].toLowerCase()))
      problems.push(`${email}: the domain ${m[1]} is not allowed (allowed: ${allowed.join(", ")}).`);
  }
  return problems;
}

export function channelProblems(channels) {
  return channels
    .filter((c) => !/^#[a-z0-9][a-z0-9._-]{0,79}$/i.test(c))
    .map((c) => (c.startsWith("#") ? `${c} is not a valid Slack channel name.` : `${c} must start with # (e.g. #${c}).`));
}

// Maps the API's problems ({field: "groups.courier_groups.emails[1]", problem}) to inputs.
function showServerProblems(problems, inputFor, status) {
  const unplaced = [];
  const byInput = new Map();
  for (const p of problems || []) {
    const input = inputFor(p.field || "");
    if (input) byInput.set(input, [...(byInput.get(input) || []), p.problem]);
    else unplaced.push(`${p.field}: ${p.problem}`);
  }
  for (const [input, messages] of byInput) setFieldError(input, messages.join(" "));
  if (unplaced.length) status.append(h("ul", { class: "small" }, unplaced.map((u) => h("li", {}, u))));
  const first = [...byInput.keys()][0];
  if (first) first.focus();
}

export async function openAlertSettings() {
  const save = h("button", { type: "button", class: "primary", disabled: true }, "Save");
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
  const d = openDialog({ title: "Automated workflow alerts", wide: true, body: loading("Loading the alert settings…"), actions: [cancel, save] });
  cancel.addEventListener("click", () => d.close());
  let settings;
  try {
    settings = await api("GET", "api/alerts/automated");
  } catch (exc) {
    clear(d.body, errorBanner(exc));
    return;
  }
  const inputs = {};
  const status = h("div");
  const fieldsets = GROUPS.map(([key, label]) => {
    const group = settings.groups[key] || { emails: [], slack_channels: [], success_alerts: false };
    const emails = h("textarea", { rows: 2, spellcheck: "false", "data-group": key, "data-field": "emails" });
    emails.value = group.emails.join("\n");
    const channels = h("input", { type: "text", spellcheck: "false", autocomplete: "off", "data-group": key, "data-field": "slack_channels" });
    channels.value = group.slack_channels.join(", ");
    const success = h("input", { type: "checkbox", id: `alerts-${key}-success`, checked: group.success_alerts });
    inputs[key] = { emails, channels, success };
    return h(
      "fieldset",
      { class: "alert-group", "data-group": key },
      h("legend", {}, label),
      field({ id: `alerts-${key}-emails`, label: "Email addresses", hint: `One per line or separated by commas. Allowed domains: ${settings.allowed_domains.join(", ") || "any"}.`, input: emails }),
      field({ id: `alerts-${key}-slack`, label: "Slack channels", hint: `Channel names starting with #, e.g. #data-alerts${settings.slack_workspace ? ` (workspace ${settings.slack_workspace})` : ""}.`, input: channels }),
      unreachableNote(group.unreachable),
      h("label", { class: "check", for: `alerts-${key}-success` }, success, " Also alert when a run succeeds (success alerts)"),
    );
  });
  clear(d.body, h("p", {}, "Who is told when automated runs of these groups fail (and, if chosen, succeed)."), status, fieldsets);
  save.disabled = false;

  save.addEventListener("click", async () => {
    clear(status);
    const groups = {};
    let invalid = false;
    for (const [key] of GROUPS) {
      const { emails, channels, success } = inputs[key];
      const emailList = splitList(emails.value);
      const channelList = splitList(channels.value);
      const ep = emailProblems(emailList, settings.allowed_domains);
      const cp = channelProblems(channelList);
      setFieldError(emails, ep.join(" ") || null);
      setFieldError(channels, cp.join(" ") || null);
      invalid = invalid || ep.length > 0 || cp.length > 0;
      groups[key] = { emails: emailList, slack_channels: channelList, success_alerts: success.checked };
    }
    if (invalid) {
      clear(status, h("p", { class: "banner error", role: "alert" }, "Some recipients are not valid; fix the fields marked below."));
      d.body.querySelector("[aria-invalid=true]").focus();
      return;
    }
    save.disabled = true;
    save.textContent = "Saving…";
    try {
      settings = await api("PUT", "api/alerts/automated", { groups });
      d.close();
      toast("Automated workflow alerts saved.");
    } catch (exc) {
      clear(status, errorBanner(exc));
      showServerProblems(
        exc.details && exc.details.problems,
        (f) => {
          const m = f.match(/^groups\.(\w+)\.(emails|slack_channels)/);
          return m && inputs[m[1]] ? inputs[m[1]][m[2] === "emails" ? "emails" : "channels"] : null;
        },
        status,
      );
      save.disabled = false;
      save.textContent = "Save";
    }
  });
}

export async function openSubscriptions(run) {
  const close = h("button", { type: "button", class: "secondary" }, "Close");
  const d = openDialog({ title: `Alerts for this run: ${run.name}`, wide: true, body: loading("Loading subscriptions…"), actions: [close] });
  close.addEventListener("click", () => d.close());
  const base = `api/workflows/${encodeURIComponent(run.id)}/subscriptions`;
  const list = h("div", { class: "subscriptions" });
  const status = h("div");
  const emails = h("input", { type: "text", spellcheck: "false", autocomplete: "off" });
  const channels = h("input", { type: "text", spellcheck: "false", autocomplete: "off" });
  const add = h("button", { type: "submit", class: "primary" }, "Subscribe");
  const form = h(
    "form",
    { class: "subscribe-form" },
    h("h3", {}, "Add a subscription"),
    field({ id: "subscribe-emails", label: "Email addresses", hint: "Separated by commas.", input: emails }),
    field({ id: "subscribe-slack", label: "Slack channels", hint: "Starting with #, separated by commas.", input: channels }),
    status,
    add,
  );

  async function load() {
    try {
      const reply = await api("GET", base);
      const items = reply.items || [];
      clear(
        list,
        h("h3", {}, "Subscriptions"),
        items.length
          ? h(
              "ul",
              {},
              items.map((sub) =>
                h(
                  "li",
                  { "data-id": sub.id },
                  [...sub.emails, ...sub.slack_channels].join(", "),
                  h("span", { class: "muted small" }, " by ", sub.created_by, ", ", timeElement(sub.created_at), " "),
                  unreachableNote(sub.unreachable),
                  h(
                    "button",
                    {
                      type: "button",
                      class: "link-button",
                      "aria-label": `Remove subscription ${[...sub.emails, ...sub.slack_channels].join(", ")}`,
                      onclick: async () => {
                        try {
                          await api("DELETE", `${base}/${encodeURIComponent(sub.id)}`);
                          toast("Subscription removed.");
                          load();
                        } catch (exc) {
                          clear(status, errorBanner(exc));
                        }
                      },
                    },
                    "Remove",
                  ),
                ),
              ),
            )
          : h("p", { class: "muted" }, "Nobody is subscribed to this run yet."),
      );
    } catch (exc) {
      clear(list, errorBanner(exc));
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear(status);
    const emailList = splitList(emails.value);
    const channelList = splitList(channels.value);
    const cp = channelProblems(channelList);
    const ep = emailProblems(emailList, []);
    setFieldError(emails, ep.join(" ") || null);
    setFieldError(channels, cp.join(" ") || null);
    if (cp.length || ep.length) return;
    if (!emailList.length && !channelList.length) {
      clear(status, h("p", { class: "banner error", role: "alert" }, "Give at least one email address or Slack channel."));
      return;
    }
    add.disabled = true;
    try {
      await api("POST", base, { emails: emailList, slack_channels: channelList });
      emails.value = "";
      channels.value = "";
      toast("Subscribed to this run's alerts.");
      await load();
    } catch (exc) {
      clear(status, errorBanner(exc));
      showServerProblems(exc.details && exc.details.problems, (f) => (f.startsWith("emails") ? emails : f.startsWith("slack_channels") ? channels : null), status);
    } finally {
      add.disabled = false;
    }
  });

  clear(d.body, list, form);
  await load();
}

// Recipients alerts cannot reach now (a disconnected Slack workspace), each with why: their
// alerts are recorded as undeliverable, not sent.
export function unreachableNote(unreachable) {
  if (!unreachable || !unreachable.length) return null;
  return h(
    "div",
    { class: "banner warning unreachable", role: "status" },
    h("p", {}, "Unreachable now, so not alerted:"),
    h("ul", {}, unreachable.map((u) => h("li", { "data-recipient": u.recipient }, h("strong", {}, u.recipient), `: ${u.reason}.`))),
  );
}
