// Calls to the Switchyard API. The bearer token lives in sessionStorage (this tab only) and
// goes with every call; errors come back as ApiError with the API's own code and message.

const TOKEN_KEY = "switchyard.token";

// The console is served at <prefix>/console/ and the API at <prefix>/api/ (prefix: the
// API Gateway stage, or nothing locally).
export const consoleBase = new URL(document.baseURI);
export const apiBase = new URL("../", consoleBase);

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

let onUnauthorized = () => {};
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

export async function api(method, path, body, { token } = {}) {
  const headers = { Authorization: `Bearer ${token || getToken() || ""}` };
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(new URL(path.replace(/^\//, ""), apiBase), init);
  } catch (exc) {
    throw new ApiError(0, "network_error", "The Switchyard API cannot be reached. Check that it is running, then try again.", {});
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch (exc) {
    data = null;
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    const failure = new ApiError(
      response.status,
      error.code || `http_${response.status}`,
      error.message || `The API answered ${response.status} ${response.statusText}.`,
      error.details,
    );
    if (response.status === 401 && !token) onUnauthorized(failure);
    throw failure;
  }
  return data;
}

// Which optional parts of the API this installation has (the alerts API, the local outbox):
// read once from the OpenAPI document, so the console never calls a route that is missing.
let features = null;
export async function getFeatures() {
  if (features) return features;
  let paths = {};
  try {
    paths = (await api("GET", "openapi.json")).paths || {};
  } catch (exc) {
    paths = {};
  }
  features = {
    automatedAlerts: "/api/alerts/automated" in paths,
    recentAlerts: "/api/alerts/recent" in paths,
    subscriptions: "/api/workflows/{workflow_id}/subscriptions" in paths || Object.keys(paths).some((p) => /^\/api\/workflows\/\{[^}]+\}\/subscriptions$/.test(p)),
    outbox: "/api/outbox" in paths,
    interactions: "/api/interactions" in paths,
    activityEvents: Object.keys(paths).some((p) => /^\/api\/interactions\/.*\/activities\/\{[^}]+\}\/event$/.test(p)),
    audienceControls: Object.keys(paths).some((p) => /^\/api\/interactions\/.*\/audiences\/\{[^}]+\}\/rewind$/.test(p)),
    offerHistory: Object.keys(paths).some((p) => /^\/api\/interactions\/.*\/instances\/\{[^}]+\}\/offer-history$/.test(p)),
  };
  return features;
}

export function forgetSession() {
  features = null;
  setToken(null);
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
