/**
 * The signed-in user's credentials. Kept in sessionStorage (gone when the tab closes) unless the user
 * asks to be remembered; the secret never leaves the browser except as SigV4 signatures.
 */
export interface Session {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  readonly accountId: string;
}

const STORAGE_KEY = "cairn.console.session";

function parse(text: string | null): Session | undefined {
  if (text === null) return undefined;
  try {
    const value = JSON.parse(text) as Partial<Session>;
    if (
      typeof value.accessKeyId === "string" &&
      typeof value.secretAccessKey === "string" &&
      typeof value.region === "string" &&
      typeof value.accountId === "string"
    ) {
      return value as Session;
    }
  } catch {
    // A damaged entry is the same as none: the user signs in again.
  }
  return undefined;
}

export function loadSession(): Session | undefined {
  return parse(sessionStorage.getItem(STORAGE_KEY)) ?? parse(localStorage.getItem(STORAGE_KEY));
}

export function saveSession(session: Session, remember: boolean): void {
  const text = JSON.stringify(session);
  sessionStorage.setItem(STORAGE_KEY, text);
  if (remember) localStorage.setItem(STORAGE_KEY, text);
  else localStorage.removeItem(STORAGE_KEY);
}

export function clearSession(): void {
  sessionStorage.removeItem(STORAGE_KEY);
  localStorage.removeItem(STORAGE_KEY);
}

export interface ServerFacts {
  readonly accountId: string;
  readonly region: string;
}

/** `GET /health` needs no signature: it tells the sign-in page which account and region this server serves. */
export async function fetchServerFacts(signal?: AbortSignal): Promise<ServerFacts> {
  const response = await fetch("../health", { signal: signal ?? null, headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(`Cairn answered ${response.status} to /health.`);
  const body = (await response.json()) as { accountId?: unknown; region?: unknown };
  if (typeof body.accountId !== "string" || typeof body.region !== "string") {
    throw new Error("Cairn's /health answer has no account or region.");
  }
  return { accountId: body.accountId, region: body.region };
}
