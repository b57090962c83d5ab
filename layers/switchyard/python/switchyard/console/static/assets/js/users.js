// Users & Activity (administrators): the API tokens (issue one, shown once with a copy button;
// revoke), and the recent control actions people took on runs (who stopped, resolved what).

import { api, query } from "./api.js";
import { href } from "./nav.js";
import { clear, errorBanner, field, h, loading, openDialog, setFieldError, timeElement, toast } from "./ui.js";

const ROLES = ["administrator", "operator", "user", "audience_only"];
const ACTIONS = {
  stop_requested: "stopped",
  resolution_applied: "resolved",
  interaction_paused: "paused",
  interaction_played: "played",
  interaction_reactivated: "reactivated",
  interaction_rolled_back: "rolled back",
  audience_paused: "paused an audience of",
  audience_played: "played an audience of",
  audience_rewound: "stopped and rewound an audience of",
};
const SLACK_RESULTS = {
  connected: (p) => ({ kind: "success", text: `Slack connected: alerts can now go to ${p.get("channel") || "the channel you chose"}.` }),
  cancelled: () => ({ kind: "info", text: "Slack was not connected: the authorization was cancelled in Slack." }),
};

export async function render(main, _params, session) {
  clear(main, h("div", { class: "page-head" }, h("h1", {}, "Users & Activity")));
  if (!session.me.permissions.includes("manage_tokens")) {
    main.append(h("div", { class: "banner info", role: "status" }, h("p", {}, "Only administrators manage API tokens and see the activity.")));
    return null;
  }
  const tokensMessage = h("div");
  const tokensBody = h("tbody");
  const activityMessage = h("div");
  const activityList = h("ul", { class: "activity-list" });

  const domainsInput = h("textarea", { rows: 3, spellcheck: "false", autocomplete: "off" });
  const domainsStatus = h("div", { class: "form-status" });
  const domainsSection = session.me.permissions.includes("manage_settings")
    ? h(
        "section",
        { "aria-labelledby": "domains-heading", class: "users-domains" },
        h("h2", { id: "domains-heading" }, "Allowed email domains"),
        h(
          "form",
          { class: "stack", novalidate: true, onsubmit: (event) => saveDomains(event) },
          field({ id: "allowed-domains", label: "Domains", hint: "One a line, e.g. example.com. Alert emails may only go to addresses in these domains.", input: domainsInput }),
          h("button", { type: "submit", class: "secondary" }, "Save domains"),
          domainsStatus,
        ),
      )
    : null;

  const slackStatus = h("div", { class: "form-status" });
  const slackBody = h("div");
  const slackSection = session.me.permissions.includes("manage_settings")
    ? h(
        "section",
        { "aria-labelledby": "slack-heading", class: "users-slack" },
        h("h2", { id: "slack-heading" }, "Slack workspace"),
        h("p", { class: "muted" }, "Alerts reach Slack channels through the workspace connected here, one channel per authorization. Disconnecting makes every Slack recipient unreachable until a workspace is connected again."),
        slackStatus,
        slackBody,
      )
    : null;

  main.append(
    h(
      "section",
      { "aria-labelledby": "tokens-heading", class: "users-tokens" },
      h("div", { class: "section-head" }, h("h2", { id: "tokens-heading" }, "API tokens"), h("button", { type: "button", class: "primary", onclick: () => issueDialog() }, "Issue a token")),
      h("p", { class: "muted" }, "Each person or system calls the API with its own token. A token is shown once, when it is issued; only its digest is kept."),
      tokensMessage,
      h(
        "div",
        { class: "table-wrap" },
        h(
          "table",
          { class: "tokens" },
          h("caption", { class: "visually-hidden" }, "API tokens"),
          h("thead", {}, h("tr", {}, ["User", "Role", "Issued", "Expires", "Last used", ""].map((c) => h("th", { scope: "col" }, c)))),
          tokensBody,
        ),
      ),
    ),
    h(
      "section",
      { "aria-labelledby": "activity-heading", class: "users-activity" },
      h("h2", { id: "activity-heading" }, "Recent control actions"),
      h("p", { class: "muted" }, "Who stopped, resolved, paused, played, reactivated or rolled back which run or interaction, newest first, from the runs' history."),
      activityMessage,
      activityList,
    ),
    domainsSection,
    slackSection,
  );

  function slackResult() {
    const params = new URLSearchParams(location.search);
    const result = SLACK_RESULTS[params.get("slack")];
    if (!result) return null;
    const { kind, text } = result(params);
    history.replaceState(null, "", location.pathname); // shown once, not again on reload
    return h("div", { class: `banner ${kind}`, role: "status" }, h("p", {}, text));
  }

  async function loadSlack() {
    if (!slackSection) return;
    const result = slackResult();
    try {
      const slack = await api("GET", "api/slack");
      clear(slackStatus, result);
      const connect = h("button", { type: "button", class: "primary", onclick: () => connectSlack(connect) }, slack.connected ? "Add a channel" : "Connect Slack");
      if (!slack.configured) {
        clear(slackBody, h("p", { class: "banner info", role: "status" }, "This deployment has no Slack app yet: its operator sets the app's client id and secret (see the alerts documentation)."));
        return;
      }
      if (!slack.connected) {
        const was = slack.disconnected_at
          ? h("p", {}, `Disconnected from ${slack.team_name || "its workspace"} by ${slack.disconnected_by || "someone"} on `, timeElement(slack.disconnected_at), ". Slack recipients are unreachable until a workspace is connected again.")
          : h("p", {}, "No Slack workspace is connected.");
        clear(slackBody, was, connect);
        return;
      }
      const disconnect = h("button", { type: "button", class: "danger", onclick: () => disconnectDialog(slack) }, "Disconnect Slack");
      clear(
        slackBody,
        h("p", {}, "Connected to ", h("strong", { class: "slack-team" }, slack.team_name), ` by ${slack.connected_by} on `, timeElement(slack.connected_at), "."),
        h("ul", { class: "slack-channels", "aria-label": "Connected channels" }, slack.channels.map((c) => h("li", {}, c.name, h("span", { class: "muted small" }, ` added by ${c.added_by}`)))),
        h("div", { class: "button-row" }, connect, disconnect),
      );
    } catch (exc) {
      clear(slackStatus, result, errorBanner(exc));
    }
  }

  async function connectSlack(button) {
    button.disabled = true;
    try {
      const started = await api("GET", `api/slack/install${query({ redirect: "false" })}`);
      location.assign(started.authorize_url); // Slack's page; it sends the browser back here
    } catch (exc) {
      clear(slackStatus, errorBanner(exc));
      button.disabled = false;
    }
  }

  function disconnectDialog(slack) {
    const status = h("div", { class: "form-status" });
    const confirm = h("button", { type: "button", class: "danger" }, "Disconnect");
    const dlg = openDialog({
      title: `Disconnect ${slack.team_name}?`,
      body: [h("p", {}, "Its channels' webhooks are deleted. Alerts to Slack channels are not sent (they are recorded as undeliverable) until a workspace is connected again."), status],
      actions: [h("button", { type: "button", class: "secondary", onclick: () => dlg.close() }, "Cancel"), confirm],
    });
    confirm.addEventListener("click", async () => {
      confirm.disabled = true;
      try {
        await api("DELETE", "api/slack");
        dlg.close();
        toast(`Slack workspace ${slack.team_name} disconnected.`);
        await loadSlack();
      } catch (exc) {
        clear(status, errorBanner(exc));
        confirm.disabled = false;
      }
    });
  }

  async function loadDomains() {
    if (!domainsSection) return;
    try {
      domainsInput.value = (await api("GET", "api/settings/allowed-domains")).domains.join("\n");
    } catch (exc) {
      clear(domainsStatus, errorBanner(exc));
    }
  }

  async function saveDomains(event) {
    event.preventDefault();
    setFieldError(domainsInput, null);
    clear(domainsStatus);
    const domains = domainsInput.value.split(/[\s,]+/).map((d) => d.trim()).filter(Boolean);
    try {
      const saved = await api("PUT", "api/settings/allowed-domains", { domains });
      domainsInput.value = saved.domains.join("\n");
      toast("Allowed email domains saved.");
    } catch (exc) {
      setFieldError(domainsInput, exc.message);
      const inUse = (exc.details && exc.details.recipients) || [];
      clear(domainsStatus, errorBanner(exc, inUse.length ? h("ul", { class: "in-use" }, inUse.map((r) => h("li", {}, `${r.email}: ${r.where}`))) : null));
    }
  }

  function tokenRow(t) {
    const label = `Revoke the token of ${t.user}`;
    return h(
      "tr",
      { "data-id": t.id, "data-user": t.user },
      h("td", {}, t.user),
      h("td", {}, t.role.replace("_", " ")),
      h("td", {}, timeElement(t.created_at), t.created_by ? h("span", { class: "muted small" }, ` by ${t.created_by}`) : null),
      h("td", {}, t.expires_at ? timeElement(t.expires_at) : "never", t.expired ? h("span", { class: "badge expired" }, " expired") : null),
      h("td", {}, t.last_used_at ? timeElement(t.last_used_at) : "never"),
      h("td", {}, h("button", { type: "button", class: "link-button", "aria-label": label, onclick: () => revokeDialog(t) }, "Revoke")),
    );
  }

  async function loadTokens() {
    if (!tokensBody.children.length) clear(tokensMessage, loading("Loading the tokens…"));
    try {
      const page = await api("GET", "api/tokens");
      clear(tokensMessage);
      clear(tokensBody, page.items.map(tokenRow));
    } catch (exc) {
      clear(tokensMessage, errorBanner(exc));
    }
  }

  function activityItem(item) {
    const verb = ACTIONS[item.action] || item.action.replace(/_/g, " ");
    const what = item.detail && item.detail.resolution ? ` with ${item.detail.resolution}` : "";
    const task = item.detail && item.detail.task ? ` (task ${item.detail.task})` : "";
    const audience = item.detail && item.detail.audience ? ` (audience ${item.detail.audience})` : "";
    const ix = item.interaction;
    const target = ix
      ? `interactions/${encodeURIComponent(ix.design_id)}/workflows/${encodeURIComponent(ix.workflow_key)}/instances/${ix.instance_id}`
      : `workflows/${encodeURIComponent(item.workflow.id)}`;
    return h(
      "li",
      { "data-action": item.action, "data-workflow": item.workflow.id },
      timeElement(item.at),
      " ",
      h("strong", {}, item.by),
      ` ${verb} `,
      h("a", { href: href(target) }, `${item.workflow.name} (${item.workflow.type})`),
      `${what}${task}${audience}`,
    );
  }

  async function loadActivity() {
    clear(activityMessage, loading("Loading the activity…"));
    try {
      const page = await api("GET", `api/activity${query({ limit: 50 })}`);
      clear(activityMessage);
      clear(activityList, page.items.map(activityItem));
      if (!page.items.length) clear(activityMessage, h("p", { class: "empty", role: "status" }, "Nobody has stopped or resolved a run yet."));
    } catch (exc) {
      clear(activityMessage, errorBanner(exc));
    }
  }

  function issueDialog() {
    const user = h("input", { type: "text", name: "user", required: true, autocomplete: "off", spellcheck: "false" });
    const role = h("select", { name: "role" }, ROLES.map((r) => h("option", { value: r }, r.replace("_", " "))));
    role.value = "operator";
    const days = h("input", { type: "number", name: "expires_in_days", min: "1", max: "3650", value: "90", required: true });
    const status = h("div", { class: "form-status" });
    const submit = h("button", { type: "submit", class: "primary" }, "Issue");
    const form = h(
      "form",
      { class: "stack", novalidate: true },
      field({ id: "token-user", label: "User", hint: "Who the token is for, e.g. alice@example.com.", input: user }),
      field({ id: "token-role", label: "Role", input: role }),
      field({ id: "token-days", label: "Expires in (days)", hint: "From 1 to 3650.", input: days }),
      status,
    );
    const dlg = openDialog({
      title: "Issue a token",
      body: form,
      actions: [h("button", { type: "button", class: "secondary", onclick: () => dlg.close() }, "Cancel"), submit],
    });
    submit.setAttribute("form", "issue-token-form");
    form.id = "issue-token-form";
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      setFieldError(user, user.value.trim() ? null : "Say who the token is for.");
      if (!user.value.trim()) {
        user.focus();
        return;
      }
      submit.disabled = true;
      try {
        const issued = await api("POST", "api/tokens", { user: user.value.trim(), role: role.value, expires_in_days: Number(days.value) });
        dlg.close();
        showIssued(issued);
        await loadTokens();
      } catch (exc) {
        const input = { user, role, expires_in_days: days }[exc.details && exc.details.field];
        if (input) setFieldError(input, exc.message);
        clear(status, errorBanner(exc));
        submit.disabled = false;
      }
    });
    user.focus();
  }

  function showIssued(issued) {
    const output = h("input", { type: "text", readonly: true, value: issued.token, class: "token-value", spellcheck: "false" });
    const copy = h(
      "button",
      {
        type: "button",
        class: "secondary",
        onclick: async () => {
          output.select();
          try {
            await navigator.clipboard.writeText(issued.token);
          } catch (exc) {
            document.execCommand("copy");
          }
          toast("Token copied.");
        },
      },
      "Copy token",
    );
    const dlg = openDialog({
      title: `Token for ${issued.user}`,
      body: [
        h("p", {}, `A ${issued.role.replace("_", " ")} token, valid until `, timeElement(issued.expires_at), "."),
        h("div", { class: "banner warning" }, h("p", {}, "Copy it now: it is shown only this once.")),
        field({ id: "issued-token", label: "Token", input: output }),
      ],
      actions: [copy, h("button", { type: "button", class: "primary", onclick: () => dlg.close() }, "Done")],
    });
  }

  function revokeDialog(t) {
    const status = h("div", { class: "form-status" });
    const confirm = h("button", { type: "button", class: "danger" }, "Revoke");
    const dlg = openDialog({
      title: `Revoke the token of ${t.user}?`,
      body: [h("p", {}, "Calls with this token are refused from now on. This cannot be undone."), status],
      actions: [h("button", { type: "button", class: "secondary", onclick: () => dlg.close() }, "Cancel"), confirm],
    });
    confirm.addEventListener("click", async () => {
      confirm.disabled = true;
      try {
        await api("DELETE", `api/tokens/${encodeURIComponent(t.id)}`);
        dlg.close();
        toast(`The token of ${t.user} is revoked.`);
        await loadTokens();
      } catch (exc) {
        clear(status, errorBanner(exc));
        confirm.disabled = false;
      }
    });
  }

  await Promise.all([loadTokens(), loadActivity(), loadDomains(), loadSlack()]);
  return null;
}
