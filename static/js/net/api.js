// @ts-check
// JSON over fetch for the accounts and key-directory API (docs/ACCOUNTS.md): the CSRF token from
// the cookie, same-origin credentials, and every refusal as an ApiError with the server's code.

const CSRF_COOKIE = "csrftoken";

/** A refusal from the server, or a request that never got an answer (code "network"). */
export class ApiError extends Error {
  /**
   * @param {{code: string, detail: string, status?: number, field?: string | null,
   *          retryAfter?: number | null, cause?: unknown}} options
   */
  constructor({ code, detail, status = 0, field = null, retryAfter = null, cause }) {
    super(detail, { cause });
    this.name = "ApiError";
    this.code = code;
    this.detail = detail;
    this.status = status;
    this.field = field;
    this.retryAfter = retryAfter;
  }
}

/** @returns {string} the CSRF token Django set in the cookie, or "" */
export function csrfToken() {
  for (const part of document.cookie.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === CSRF_COOKIE) return decodeURIComponent(rest.join("="));
  }
  // Pages render {% csrf_token %} too, which is enough when the cookie is not readable yet.
  const input = /** @type {HTMLInputElement | null} */ (document.querySelector("input[name=csrfmiddlewaretoken]"));
  return input?.value ?? "";
}

/**
 * @param {"GET" | "POST"} method
 * @param {string} path same-origin path, e.g. "/api/accounts/login"
 * @param {unknown} [body] JSON-serialisable, for POST
 * @returns {Promise<any>} the parsed JSON answer, or null for 204
 * @throws {ApiError}
 */
export async function request(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json" };
  /** @type {RequestInit} */
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (method !== "GET") {
    headers["X-CSRFToken"] = csrfToken();
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError({
      code: "network",
      detail: "Could not reach the server. Check your connection and try again.",
      cause: error,
    });
  }
  if (response.status === 204) return null;
  const data = await readJson(response);
  if (response.ok && data !== undefined) return data;
  throw errorFrom(response, data);
}

/** @param {string} path @returns {Promise<any>} */
export const getJson = (path) => request("GET", path);

/** @param {string} path @param {unknown} [body] @returns {Promise<any>} */
export const postJson = (path, body) => request("POST", path, body ?? {});

/**
 * @param {Response} response
 * @returns {Promise<any>} parsed JSON, or undefined when the body is not JSON
 */
async function readJson(response) {
  if (!(response.headers.get("Content-Type") ?? "").includes("application/json")) return undefined;
  try {
    return await response.json();
  } catch {
    return undefined;
  }
}

/**
 * @param {Response} response
 * @param {any} data
 * @returns {ApiError}
 */
function errorFrom(response, data) {
  const error = data?.error;
  const retryAfter = toSeconds(error?.retry_after ?? response.headers.get("Retry-After"));
  if (error && typeof error.code === "string") {
    return new ApiError({
      code: error.code,
      detail: typeof error.detail === "string" ? error.detail : `The server refused the request (${error.code}).`,
      status: response.status,
      field: typeof error.field === "string" ? error.field : null,
      retryAfter,
    });
  }
  // Not our JSON shape: a proxy error page, a crash, or a 200 that is not JSON.
  const code = response.ok ? "bad_response" : response.status >= 500 ? "server_error" : `http_${response.status}`;
  const detail = response.ok
    ? "The server sent an answer this page cannot read."
    : `The server answered ${response.status} ${response.statusText}`.trim() + ". Try again later.";
  return new ApiError({ code, detail, status: response.status, retryAfter });
}

/** @param {unknown} value @returns {number | null} */
function toSeconds(value) {
  const seconds = Number(value);
  return value !== null && value !== undefined && value !== "" && Number.isFinite(seconds) && seconds >= 0
    ? Math.ceil(seconds)
    : null;
}
