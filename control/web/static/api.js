// The HTTP API with the session cookie. Every failure becomes an ApiError carrying the
// server's `reason` (shown to the director as it is) or, with no answer, a network error.

export class ApiError extends Error {
  constructor(status, code, reason, body = null) {
    super(reason || code);
    this.status = status;   // 0: no answer from the controller
    this.code = code;
    this.reason = reason;
    this.body = body;
  }
}

export async function api(method, path, body = undefined, headers = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json",
    ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, "network", String(e && e.message ? e.message : e));
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const code = (data && typeof data.error === "string") ? data.error : `http_${response.status}`;
    const reason = (data && typeof data.reason === "string") ? data.reason : "";
    throw new ApiError(response.status, code, reason, data);
  }
  return data;
}

/** The caller's role, or null when not logged in (401). Throws on other failures. */
export async function whoami() {
  try {
    const data = await api("GET", "/api/whoami");
    return data && data.role ? data.role : null;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}
