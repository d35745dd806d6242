/**
 * Crypto benchmarks in Debian's Chromium (issue 3): item seal/open, streaming a 200 MiB file
 * against raw AES-GCM in the same run with memory sampled (JS heap in the page, renderer RSS from
 * /proc), and Argon2id at the default parameters. Prints figures; asserts nothing.
 * Run from web/ (needs /usr/bin/chromium); Vite and playwright-core are handed in from web/'s
 * node_modules, since bare imports do not resolve from bench/:
 *   node --input-type=module -e "const [v, p] = await Promise.all([import('vite'), import('playwright-core')]); await (await v.runnerImport('../bench/crypto-chromium.ts')).module.main(v, p)"
 * QR_BENCH_MIB sets the stream size (default 200).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { formatStream, formatTiming, type StreamResult, type Timing } from "./crypto-chromium.workloads";

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const webDir = fileURLToPath(new URL("../web/", import.meta.url));
const pageModule = fileURLToPath(new URL("./crypto-chromium.page.ts", import.meta.url));

function rendererPids(browserPid: number): number[] {
  const ps = execFileSync("ps", ["-eo", "pid=,ppid=,args="], { encoding: "utf8" });
  const rows = ps.split("\n").map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l)).filter((m): m is RegExpExecArray => m !== null);
  const children = new Map<number, number[]>();
  for (const m of rows) {
    const pid = Number(m[1]);
    const ppid = Number(m[2]);
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const tree: number[] = [];
  const walk = (p: number): void => {
    for (const c of children.get(p) ?? []) {
      tree.push(c);
      walk(c);
    }
  };
  walk(browserPid);
  return rows.filter((m) => tree.includes(Number(m[1])) && (m[3] ?? "").includes("--type=renderer")).map((m) => Number(m[1]));
}

function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m?.[1] === undefined ? 0 : Number(m[1]) / 1024;
  } catch {
    return 0;
  }
}

interface PageLike {
  goto(url: string): Promise<unknown>;
  /** A string expression: functions would be rewritten by Vite's SSR transform of this file. */
  evaluate(expression: string): Promise<unknown>;
}
interface BrowserLike {
  version(): string;
  newPage(): Promise<PageLike>;
  close(): Promise<void>;
}
interface ViteLike {
  createServer(config: Record<string, unknown>): Promise<{ listen(): Promise<unknown>; close(): Promise<void>; httpServer: { address(): unknown } | null }>;
}
interface PlaywrightLike {
  chromium: { launch(options: Record<string, unknown>): Promise<BrowserLike> };
}

export async function main(vite: ViteLike, playwright: PlaywrightLike): Promise<void> {
const mib = Number(process.env.QR_BENCH_MIB ?? "200");
const server = await vite.createServer({
  root: webDir,
  configFile: false,
  logLevel: "error",
  server: { host: "127.0.0.1", port: 0, fs: { allow: [fileURLToPath(new URL("../", import.meta.url))] } },
  optimizeDeps: { include: ["@hpke/core", "hash-wasm", "idb", "@noble/hashes/sha2.js", "uuid", "zod"] },
});
await server.listen();
const address = server.httpServer?.address();
const port = typeof address === "object" && address !== null && "port" in address ? Number(address.port) : 0;
const browser = await playwright.chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--enable-precise-memory-info", "--js-flags=--expose-gc"],
});
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${String(port)}/`);
  out(`# crypto bench, ${browser.version()} (Debian), ${new Date().toISOString()}`);
  const url = `/@fs${pageModule}`;
  const call = (fn: string, arg = ""): Promise<unknown> => page.evaluate(`import(${JSON.stringify(url)}).then((m) => m.${fn}(${arg}))`);
  const items = await call("runItems");
  for (const t of items as Timing[]) out(formatTiming(t));

  // The browser process is the one Playwright launched; sample its renderers' RSS while streaming.
  const ps = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  const browserPid = Number(
    ps.split("\n").find((l) => l.includes("/chromium") && l.includes("--enable-precise-memory-info") && !l.includes("--type="))?.trim().split(/\s+/)[0] ?? "0",
  );
  const renderers = rendererPids(browserPid);
  const rss = (): number => renderers.reduce((a, p) => a + rssMiB(p), 0);
  interface Phase {
    result: StreamResult;
    heapStartMiB: number;
    heapPeakMiB: number;
    liveHeapPeakMiB: number;
  }
  // Each phase starts after a full GC; renderer RSS is sampled every 50 ms from /proc. Memory is
  // flat when the 200 MiB phase peaks no higher than the 50 MiB one.
  const phase = async (fn: string, n: number): Promise<Phase & { rssStart: number; rssPeak: number }> => {
    await call("collect");
    const rssStart = rss();
    let rssPeak = rssStart;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, rss());
    }, 50);
    try {
      const p = (await call(fn, String(n))) as Phase;
      return { ...p, rssStart, rssPeak: Math.max(rssPeak, rss()) };
    } finally {
      clearInterval(sampler);
    }
  };
  const raw = await phase("runRaw", mib);
  out(formatStream(raw.result));
  for (const [fn, n] of [["runEnc", 50], ["runEnc", mib], ["runItem", 50], ["runItem", mib]] as const) {
    const p = await phase(fn, n);
    out(
      `${formatStream(p.result)} (${((p.result.mibPerS / raw.result.mibPerS) * 100).toFixed(0)}% of raw); ` +
        `JS heap ${p.heapStartMiB.toFixed(1)} → peak ${p.heapPeakMiB.toFixed(1)} MiB; renderer RSS ${p.rssStart.toFixed(0)} → peak ${p.rssPeak.toFixed(0)} MiB`,
    );
  }
  for (const [fn, n] of [["runEncLive", 50], ["runEncLive", mib], ["runItemLive", 50], ["runItemLive", mib]] as const) {
    const p = await phase(fn, n);
    out(`live set, ${p.result.name}, ${String(n)} MiB (full GC every 16 MiB): live JS heap peak ${p.liveHeapPeakMiB.toFixed(1)} MiB; renderer RSS ${p.rssStart.toFixed(0)} → peak ${p.rssPeak.toFixed(0)} MiB`);
  }
  for (const h of (await call("runHashes", String(mib))) as StreamResult[]) out(formatStream(h));
  const argon = (await call("runArgon")) as Timing;
  out(formatTiming(argon));
} finally {
  await browser.close();
  await server.close();
}
}
