// Which account on this browser an email belongs to, so the sign-in page can use the Secret Key
// this device keeps for it (§3.3: entered once per device). Only the email and the user id are
// kept, in localStorage: neither is a secret, and the keys themselves stay in IndexedDB.
const STORAGE_KEY = "quietroom.accounts";

function normal(email: string): string {
  return email.trim().toLowerCase();
}

function readAll(): Record<string, string> {
  try {
    const raw = window.localStorage.getItem(STORAGE_KEY);
    const parsed: unknown = raw === null ? {} : JSON.parse(raw);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return {};
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) if (typeof v === "string") out[k] = v;
    return out;
  } catch {
    return {};
  }
}

export function knownUserId(email: string): string | undefined {
  return readAll()[normal(email)];
}

export function rememberAccount(email: string, userId: string): void {
  try {
    window.localStorage.setItem(STORAGE_KEY, JSON.stringify({ ...readAll(), [normal(email)]: userId }));
  } catch {
    // Storage may be off (private mode): the Secret Key is then typed at each sign-in.
  }
}
