/**
 * @module The console's only door to the hub: the public HTTP API with the session cookie, and the
 * session's CSRF token (kept in memory) on every request that changes something.
 */

/** An error the API answered: `{error: {code, message, details}}`, or a network failure. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {unknown} [details]
   */
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** @type {string | undefined} */
let csrfToken;

/** @param {string | undefined} token */
export function setCsrfToken(token) {
  csrfToken = token;
}

/**
 * Calls the API and answers the parsed JSON body (undefined for 204).
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @param {{ accept?: number[] }} [options] statuses besides 2xx whose body is an answer, not an error
 * @returns {Promise<any>}
 */
export async function call(method, path, body, options = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (error) {
    throw new ApiError(0, 'NETWORK', `The hub did not answer: ${String(error)}`);
  }
  if (response.status === 204) return undefined;
  const text = await response.text();
  /** @type {any} */
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (response.ok || (options.accept ?? []).includes(response.status)) return parsed;
  const error = parsed?.error;
  throw new ApiError(
    response.status,
    error?.code ?? `HTTP_${response.status}`,
    error?.message ?? (text.slice(0, 200) || response.statusText),
    error?.details,
  );
}

/** @param {string} path @param {{ accept?: number[] }} [options] */
export const get = (path, options) => call('GET', path, undefined, options);
/** @param {string} path @param {unknown} [body] */
export const post = (path, body) => call('POST', path, body);

/**
 * A path with a query string of the values that are set.
 * @param {string} path
 * @param {Record<string, string | undefined>} query
 */
export function withQuery(path, query) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value) params.set(name, value);
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}
