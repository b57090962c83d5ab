// The console: sign-in, the layout and the router. Each page is a module whose render(main,
// params, session) returns an optional cleanup function (timers, listeners).

import { ApiError, api, consoleBase, forgetSession, getFeatures, getToken, setToken, whenUnauthorized } from "./api.js";
import { appPath, can, href, navigate, setRouter, setSession } from "./nav.js";
import { clear, errorBanner, field, h } from "./ui.js";
import * as workflows from "./workflows.js";
import * as workflow from "./workflow.js";
import * as graph from "./graph.js";
import * as outbox from "./outbox.js";
import * as interactions from "./interactions.js";
import * as interactionNew from "./interaction_new.js";
import * as interaction from "./interaction.js";
import * as interactionInstance from "./interaction_instance.js";
import * as warehouse from "./warehouse.js";
import * as users from "./users.js";
import * as credentials from "./credentials.js";

const main = document.getElementById("main");
let cleanup = null;
let session = null; // {me, features}, mirrored in nav.js for the pages
let notice = null; // a message for the sign-in page
let routeCount = 0;

const ROUTES = [
  [/^$/, () => ({ redirect: "workflows" })],
  [/^workflows\/?$/, () => ({ page: workflows, title: "Workflows" })],
  [/^workflows\/([^/]+)\/graph\/?$/, (m) => ({ page: graph, title: "Workflow graph", params: { id: decodeURIComponent(m[1]) } })],
  [/^workflows\/([^/]+)\/?$/, (m) => ({ page: workflow, title: "Workflow", params: { id: decodeURIComponent(m[1]) } })],
  [/^outbox\/?$/, () => ({ page: outbox, title: "Outbox" })],
  [/^interactions\/?$/, () => ({ page: interactions, title: "Interactions" })],
  [/^warehouse\/?$/, () => ({ page: warehouse, title: "Warehouse" })],
  [/^users\/?$/, () => ({ page: users, title: "Users & Activity" })],
  [/^credentials\/?$/, () => ({ page: credentials, title: "Credentials" })],
  [/^interactions\/new\/?$/, () => ({ page: interactionNew, title: "New interaction" })],
  [/^interactions\/([^/]+)\/?$/, (m) => ({ page: interaction, title: "Interaction", params: { id: decodeURIComponent(m[1]) } })],
  [
    /^interactions\/([^/]+)\/workflows\/([^/]+)\/instances\/(\d+)\/?$/,
    (m) => ({ page: interactionInstance, title: "Interaction instance", params: { id: decodeURIComponent(m[1]), key: decodeURIComponent(m[2]), n: m[3] } }),
  ],
];

// Links inside the console change the page without reloading it.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href]");
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || link.target) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith(consoleBase.pathname)) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener("popstate", () => route());

whenUnauthorized(() => {
  forgetSession();
  session = null;
  setSession(null);
  notice = "Your token is no longer accepted. Sign in again.";
  route();
});

function renderNav() {
  const nav = document.getElementById("nav");
  const who = document.getElementById("who");
  const current = appPath();
  const item = (path, label) =>
    h("a", { href: href(path), "aria-current": current.startsWith(path) ? "page" : null }, label);
  if (!session) {
    clear(nav);
    clear(who);
    return;
  }
  clear(
    nav,
    can("read_workflows") ? item("workflows", "Workflows") : null,
    can("read_workflows") && session.features.interactions ? item("interactions", "Interactions") : null,
    session.features.outbox ? item("outbox", "Outbox") : null,
    can("manage_credentials") ? item("credentials", "Credentials") : null,
    can("manage_tokens") ? item("users", "Users & Activity") : null,
  );
  clear(
    who,
    h("span", { class: "subject" }, session.me.subject),
    h("span", { class: "role" }, session.me.role.replace("_", " ")),
    h(
      "button",
      {
        type: "button",
        class: "link-button",
        onclick: () => {
          forgetSession();
          session = null;
          setSession(null);
          notice = "You are signed out.";
          route();
        },
      },
      "Sign out",
    ),
  );
}

function renderSignIn() {
  document.title = "Sign in · Switchyard";
  const input = h("input", { type: "password", name: "token", autocomplete: "off", required: true, spellcheck: "false" });
  const status = h("div", { class: "form-status" });
  const button = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    {
      class: "card signin",
      onsubmit: async (event) => {
        event.preventDefault();
        const token = input.value.trim();
        if (!token) {
          clear(status, errorBanner({ message: "Paste your API token first." }));
          input.focus();
          return;
        }
        button.disabled = true;
        button.textContent = "Signing in…";
        try {
          await api("GET", "api/me", undefined, { token });
          setToken(token);
          notice = null;
          await route();
        } catch (exc) {
          clear(status, errorBanner(exc));
          button.disabled = false;
          button.textContent = "Sign in";
          input.focus();
        }
      },
    },
    h("h1", {}, "Sign in to Switchyard"),
    notice ? h("p", { class: "banner info", role: "status" }, notice) : null,
    field({
      id: "token",
      label: "API token",
      hint: "Your bearer token. Running locally, it is the admin token that make run prints. It is kept in this browser tab only.",
      input,
    }),
    status,
    button,
  );
  clear(main, form);
  input.focus();
}

function renderNoAccess() {
  document.title = "No access · Switchyard";
  clear(
    main,
    h(
      "section",
      { class: "card" },
      h("h1", { tabindex: "-1" }, "No access to workflows"),
      h(
        "p",
        { class: "banner info", role: "status" },
        `You are signed in as ${session.me.subject} with the role ${session.me.role}. That role has no access to workflows, so there is nothing to show here. Ask an administrator if you need access.`,
      ),
    ),
  );
}

function notFound() {
  document.title = "Not found · Switchyard";
  clear(
    main,
    h("section", { class: "card" }, h("h1", { tabindex: "-1" }, "Page not found"), h("p", {}, "There is no console page at this address. "), h("a", { href: href("workflows") }, "Go to the workflows")),
  );
}

async function route() {
  routeCount++;
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
  // Links written as #/interactions/{id} (bookmarks, other tools) open the page at that path.
  if (location.hash.startsWith("#/")) return navigate(location.hash.slice(2) + location.search, { replace: true });
  const path = appPath();
  if (!getToken()) {
    session = null;
    renderNav();
    renderSignIn();
    return;
  }
  if (!session) {
    clear(main, h("p", { class: "loading", role: "status" }, "Signing in…"));
    try {
      const me = await api("GET", "api/me");
      const features = await getFeatures();
      session = { me, features };
      setSession(session);
    } catch (exc) {
      if (exc instanceof ApiError && exc.status === 401) return; // whenUnauthorized re-routes
      clear(main, errorBanner(exc, h("button", { type: "button", onclick: () => route() }, "Try again")));
      return;
    }
  }
  renderNav();
  if (!can("read_workflows") && (path === "" || path.startsWith("workflows") || path.startsWith("interactions") || path.startsWith("warehouse"))) {
    renderNoAccess();
    return;
  }
  const match = ROUTES.map(([pattern, build]) => {
    const m = path.match(pattern);
    return m ? build(m) : null;
  }).find(Boolean);
  if (!match) return notFound();
  if (match.redirect) return navigate(match.redirect + location.search, { replace: true });
  document.title = `${match.title} · Switchyard`;
  // Each page draws into its own container: a page still loading when people move on draws
  // into a detached element, and its timers are stopped as soon as it returns.
  const mine = ++routeCount;
  const view = h("div", { class: "view" });
  clear(main, view);
  const stop = (await match.page.render(view, match.params || {}, session)) || null;
  if (mine !== routeCount) {
    if (stop) stop();
    return;
  }
  cleanup = stop;
  const heading = main.querySelector("h1");
  if (heading && document.activeElement === document.body) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
}

setRouter(route);
route();
