// The API client: the session (token or API key, in sessionStorage so it survives a reload of
// the tab and ends with it), requests with the API's error envelope, Cognito sign-in.

/** The API's base URL: the page is served at <base>/console/. */
export const apiBase = location.origin + location.pathname.replace(/\/console(\/.*)?$/, "");

export interface Session {
  kind: "token" | "key";
  secret: string; // the ID token, or the API key
  refresh?: string;
  expiresAt?: number; // ms
  endpoint?: string;
  clientId?: string;
}

const KEY = "buckets.console.session";

export function loadSession(): Session | null {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) ?? "null") as Session | null;
    return s && typeof s.secret === "string" ? s : null;
  } catch {
    return null;
  }
}

export function saveSession(s: Session | null): void {
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
    public body?: unknown,
  ) {
    super(message);
  }
}

/** The message of an error answer: Kinto's envelope `message`, else the status. */
async function errorOf(res: Response): Promise<ApiError> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const m = (body as { message?: string } | undefined)?.message;
  return new ApiError(res.status, m ? `${m} (${res.status})` : `HTTP ${res.status}`, body);
}

/** Resolves a URL the API answered (absolute, or host-relative like status_uri / next_uri). */
export function resolve(url: string): string {
  return new URL(url, apiBase + "/").toString();
}

let onExpired: (ended: Session) => void = () => {};
/** `f` runs when the API refuses the session's credential (401): the session has ended. */
export function whenExpired(f: (ended: Session) => void): void {
  onExpired = f;
}

async function cognito(endpoint: string, target: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(endpoint, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": `AWSCognitoIdentityProviderService.${target}`,
    },
    body: JSON.stringify(body),
  });
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) throw new ApiError(res.status, String(json.message ?? json.__type ?? `sign-in failed (${res.status})`));
  return json;
}

interface AuthResult {
  IdToken: string;
  RefreshToken?: string;
  ExpiresIn: number;
}

export async function signInPassword(endpoint: string, clientId: string, user: string, password: string): Promise<Session> {
  const r = await cognito(endpoint, "InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH",
    ClientId: clientId,
    AuthParameters: { USERNAME: user, PASSWORD: password },
  });
  const a = r.AuthenticationResult as AuthResult | undefined;
  if (!a) throw new ApiError(400, `this account needs a step the console does not offer (${String(r.ChallengeName)})`);
  return { kind: "token", secret: a.IdToken, refresh: a.RefreshToken, expiresAt: Date.now() + a.ExpiresIn * 1000, endpoint, clientId };
}

async function refresh(s: Session): Promise<Session | null> {
  if (!s.refresh || !s.endpoint || !s.clientId) return null;
  try {
    const r = await cognito(s.endpoint, "InitiateAuth", {
      AuthFlow: "REFRESH_TOKEN_AUTH",
      ClientId: s.clientId,
      AuthParameters: { REFRESH_TOKEN: s.refresh },
    });
    const a = r.AuthenticationResult as AuthResult;
    const next = { ...s, secret: a.IdToken, expiresAt: Date.now() + a.ExpiresIn * 1000 };
    saveSession(next);
    return next;
  } catch {
    return null;
  }
}

function authHeaders(s: Session | null): Record<string, string> {
  if (!s) return {};
  return s.kind === "key" ? { "X-API-Key": s.secret } : { Authorization: `Bearer ${s.secret}` };
}

export interface Answer<T> {
  body: T;
  res: Response;
}

/** One API call. A token about to expire is refreshed first; a 401 ends the session. */
export async function call<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer<T>> {
  let s = loadSession();
  if (s?.kind === "token" && s.expiresAt && s.expiresAt - Date.now() < 60_000) {
    s = (await refresh(s)) ?? s;
  }
  // no-store: the API's GETs carry Last-Modified without Cache-Control, which lets a browser
  // reuse an answer heuristically (a bucket's counters seconds old); the page wants the truth.
  const init: RequestInit = { method, headers: { ...authHeaders(s), ...headers }, cache: "no-store" };
  if (body !== undefined) {
    (init.headers as Record<string, string>)["Content-Type"] ??= "application/json";
    init.body = JSON.stringify(body);
  }
  // A /v1 path is the API's; anything else the API answered (next_uri, status_uri) is resolved.
  const url = path.startsWith("/v1") ? apiBase + path : resolve(path);
  const res = await fetch(url, init);
  if (res.status === 401 && s) {
    saveSession(null);
    onExpired(s);
    throw await errorOf(res);
  }
  if (!res.ok) throw await errorOf(res);
  const text = res.status === 204 ? "" : await res.text();
  return { body: (text ? JSON.parse(text) : undefined) as T, res };
}

export const enc = encodeURIComponent;

/** A page of a list: `data`, and `next_uri` (host-relative) while `has_more`. */
export interface Page<T> {
  data: T[];
  has_more?: boolean;
  next_uri?: string | null;
}

/** One page of a list: `url` is a /v1 path or a `next_uri` the API answered. */
export async function page<T>(url: string): Promise<Page<T>> {
  return (await call<Page<T>>("GET", url)).body;
}

/** The claims of the session's ID token (unverified: for display only), or null for a key. */
export function tokenClaims(s: Session | null = loadSession()): Record<string, unknown> | null {
  if (s?.kind !== "token") return null;
  try {
    const b64 = s.secret.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  } catch {
    return null;
  }
}
