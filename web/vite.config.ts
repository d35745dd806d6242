import { createHash } from "node:crypto";
import { defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";

// Adds Subresource Integrity to every script and stylesheet in index.html, so a tampered
// bundle on disk or in a cache fails to load (crypto-protocol §1.2).
function subresourceIntegrity(): Plugin {
  return {
    name: "quietroom-sri",
    apply: "build",
    enforce: "post",
    // Last of all generateBundle hooks: Vite rewrites chunks that use a dynamic import (their
    // preload list) in its own generateBundle, and the digest must be of the final code.
    generateBundle: {
      order: "post",
      handler(_options, bundle) {
        const html = bundle["index.html"];
        if (html?.type !== "asset" || typeof html.source !== "string") return;
        html.source = html.source.replace(
          /<(script|link)([^>]*?)(src|href)="\/([^"]+)"([^>]*)>/g,
          (tag: string, element: string, before: string, attr: string, file: string, after: string) => {
            const asset = bundle[file];
            if (asset === undefined) return tag;
            const code = asset.type === "chunk" ? asset.code : asset.source;
            const digest = createHash("sha384").update(code).digest("base64");
            return `<${element}${before}${attr}="/${file}" integrity="sha384-${digest}"${after}>`;
          },
        );
      },
    },
  };
}

export default defineConfig({
  plugins: [react(), subresourceIntegrity()],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    sourcemap: false,
    // Keep everything in files: inline data: URLs for scripts or styles would need CSP holes.
    assetsInlineLimit: 0,
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8000",
      "/_allauth": "http://127.0.0.1:8000",
      "/ws": { target: "ws://127.0.0.1:8000", ws: true },
    },
  },
});
