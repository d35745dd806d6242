/**
 * Browser side of bench/crypto-chromium.ts: loaded into Debian's Chromium through Vite, called
 * with page.evaluate. Samples `performance.memory` (Chromium, with --enable-precise-memory-info)
 * during each phase, after a full GC (--js-flags=--expose-gc).
 */
import { argonBench, hashThroughput, itemBench, rawAesGcm, streamEncrypt, streamItem, type StreamResult, type Timing } from "./crypto-chromium.workloads";

interface ChromiumMemory {
  readonly usedJSHeapSize: number;
  readonly totalJSHeapSize: number;
}

function heapMiB(): number {
  const m = (performance as Performance & { memory?: ChromiumMemory }).memory;
  return m === undefined ? Number.NaN : m.usedJSHeapSize / 1048576;
}

/** Full GC when Chromium runs with --js-flags=--expose-gc, so each phase starts from a clean heap. */
export function collect(): number {
  const g = (globalThis as { gc?: () => void }).gc;
  g?.();
  return heapMiB();
}

export interface Phase {
  readonly result: StreamResult;
  readonly heapStartMiB: number;
  /** Highest `usedJSHeapSize` seen (garbage included). */
  readonly heapPeakMiB: number;
  /** Highest live heap: a full GC before each sample (every 250 ms); NaN without --expose-gc. */
  readonly liveHeapPeakMiB: number;
}

/**
 * Runs one phase, sampling the heap from inside the stream source every 16 MiB (timers do not
 * fire while a WebCrypto pipeline runs back to back). With `live`, a full GC precedes each
 * sample, so the figure is the live set rather than garbage awaiting collection.
 */
async function sampled(fn: (probe: () => void) => Promise<StreamResult>, live: boolean): Promise<Phase> {
  const start = collect();
  let peak = start;
  let livePeak = Number.NaN;
  const probe = (): void => {
    if (live) {
      const h = collect();
      livePeak = Number.isNaN(livePeak) ? h : Math.max(livePeak, h);
    } else {
      peak = Math.max(peak, heapMiB());
    }
  };
  const result = await fn(probe);
  return { result, heapStartMiB: start, heapPeakMiB: Math.max(peak, heapMiB()), liveHeapPeakMiB: livePeak };
}

export async function runItems(): Promise<Timing[]> {
  return itemBench(200);
}

export async function runArgon(): Promise<Timing> {
  return argonBench(3);
}

export const runRaw = (mib: number): Promise<Phase> => sampled(() => rawAesGcm(mib), false);
export const runEnc = (mib: number): Promise<Phase> => sampled((p) => streamEncrypt(mib, p), false);
export const runItem = (mib: number): Promise<Phase> => sampled((p) => streamItem(mib, p), false);
/** The same runs with a full GC every 16 MiB, to show the live set (throughput not comparable). */
export const runEncLive = (mib: number): Promise<Phase> => sampled((p) => streamEncrypt(mib, p), true);
export const runItemLive = (mib: number): Promise<Phase> => sampled((p) => streamItem(mib, p), true);
export const runHashes = (mib: number): Promise<StreamResult[]> => hashThroughput(mib);
