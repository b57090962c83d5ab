// Navigation and the signed-in session, shared by the pages.

import { consoleBase } from "./api.js";

let router = async () => {};
let session = null; // {me, features}

export function setRouter(fn) {
  router = fn;
}

export function getSession() {
  return session;
}

export function setSession(value) {
  session = value;
}

// The path below /console/, e.g. "workflows/123".
export function appPath() {
  const path = location.pathname;
  const base = consoleBase.pathname;
  if (path.startsWith(base)) return path.slice(base.length);
  return path === base.replace(/\/$/, "") ? "" : path.replace(/^\//, "");
}

export function href(path) {
  const url = new URL(path, consoleBase);
  return url.pathname + url.search;
}

export function navigate(path, { replace = false } = {}) {
  const url = new URL(path, consoleBase);
  if (url.href !== location.href) {
    if (replace) history.replaceState(null, "", url);
    else history.pushState(null, "", url);
  }
  return router();
}

export function can(permission) {
  return Boolean(session && session.me.permissions.includes(permission));
}
