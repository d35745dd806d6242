// The client's routes. The server serves index.html for exactly these paths
// (quietroom.core.views.SPA_ROUTES); keep the two lists in step.
export const ROUTES = {
  home: "/",
  signIn: "/sign-in",
  protection: "/protection",
  setup: "/setup",
  myAccess: "/my-access",
  audit: "/audit",
  security: "/security",
  join: "/join",
  welcome: "/welcome",
  team: "/team",
  verify: "/verify",
  forgotPassword: "/forgot-password",
  resetPassword: "/reset-password",
  recover: "/recover",
  messages: "/messages",
  conversation: "/conversation",
} as const;

export type RoutePath = (typeof ROUTES)[keyof typeof ROUTES];

const known = new Set<string>(Object.values(ROUTES));

export function matchRoute(pathname: string): RoutePath | null {
  return known.has(pathname) ? (pathname as RoutePath) : null;
}
