// Vitest runs two projects: `node` (unit and vector tests in Node 20; DOM tests opt in with a
// `// @vitest-environment jsdom` comment) and `chromium` (`*.browser.test.ts` in Debian's Chromium
// through Playwright; never `playwright install`). `npx vitest run` runs both.
import { defineConfig, mergeConfig } from "vitest/config";
import { playwright } from "@vitest/browser-playwright";
import viteConfig from "./vite.config";

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// The app's Vite config (plugins, build) plus the test settings.
export default mergeConfig(viteConfig, defineConfig({
  server: {
    // The shared vectors live in ../testdata, outside the web root.
    fs: { allow: [".."] },
  },
  // Pre-bundle what the crypto tests import, so the browser run does not reload mid-test.
  optimizeDeps: {
    include: ["@hpke/core", "hash-wasm", "idb", "@noble/hashes/sha2.js", "fast-check", "uuid", "zod"],
  },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "node",
          environment: "node",
          include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
          exclude: ["src/**/*.browser.test.*", "node_modules/**"],
          testTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: "chromium",
          include: ["src/**/*.browser.test.ts"],
          testTimeout: 120_000,
          browser: {
            enabled: true,
            headless: true,
            provider: playwright({
              launchOptions: { executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS },
            }),
            instances: [{ browser: "chromium" }],
            // No failure screenshots in the source tree; errors carry the details.
            screenshotFailures: false,
          },
        },
      },
    ],
  },
}));
