// Unsent drafts, per conversation, in this tab's memory only: never sent, never stored on disk,
// and forgotten with the keys (lock, sign-out, quick exit) or when the tab closes.
const drafts = new Map<string, string>();

export function getDraft(clientId: string): string {
  return drafts.get(clientId) ?? "";
}

export function setDraft(clientId: string, text: string): void {
  if (text === "") drafts.delete(clientId);
  else drafts.set(clientId, text);
}

export function forgetDrafts(): void {
  drafts.clear();
}
