/**
 * Crypto benchmarks in Node 20 (issue 3). Prints figures; asserts nothing.
 * Run from web/:
 *   node --input-type=module -e "await (await import('vite')).runnerImport('../bench/crypto-node.ts')"
 */
import { argonBench, formatStream, formatTiming, itemBench, rawAesGcm, streamEncrypt } from "./crypto-chromium.workloads";

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

out(`# crypto bench, Node ${process.versions.node}, ${new Date().toISOString()}`);
for (const t of await itemBench(200)) out(formatTiming(t));
out(formatTiming(await argonBench(3)));
const mib = Number(process.env.QR_BENCH_MIB ?? "64");
out(formatStream(await rawAesGcm(mib)));
out(formatStream(await streamEncrypt(mib)));
out(`peak RSS ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB`);
