/**
 * A hint to the garbage collector of the Bun runtime (the single binary),
 * from the socket backends (socket_bun.ts, socket_ffi.ts): a no-op under
 * Deno and Node.
 *
 * Why: JavaScriptCore sizes its collection cycles for the machine's RAM,
 * not for a command that should stay small. Each COMPOUND leaves a few
 * kilobytes of objects behind, and objects still in use at a young-generation
 * collection (a file copy's, while it is in flight) become old and are
 * taken only by a full collection, which JavaScriptCore runs once the heap
 * has grown to several times what the last one left. A `cp -r` of 10,000
 * small files reached 50-70 MB of dead objects that way (peak RSS 220 MB).
 *
 * The hint: every {@linkcode CHECK_EVERY_READS} socket reads, the heap's
 * size is looked at (microseconds), and when it has grown
 * {@linkcode FULL_GROWTH_BYTES} past what the last full collection left, a
 * full collection runs, from `setImmediate` (after the current read's
 * callbacks, so that the records just decoded are already dead). A full
 * collection of nfs4's heap takes a few milliseconds: a `cp -r` of 10,000
 * files asks for about 20, a 1 GiB read one or two.
 *
 * Measured and not done: young-generation collections every few MiB
 * received (for the buffer every Bun socket read leaves behind) took
 * 1-2 ms each, 0.1-0.2 CPU-s per GiB read, for 10-15 MB less peak RSS.
 * @module
 */

import process from "node:process";

/** Heap growth past the last full collection that asks for another. */
export const FULL_GROWTH_BYTES = 16 * 1024 * 1024;
/** How often (socket reads) the heap's size is looked at. */
export const CHECK_EVERY_READS = 64;

/** What the policy uses of the runtime: Bun's `bun:jsc` and the heap's size. */
export interface Collector {
  /** Bytes of live and not yet collected objects on the JavaScript heap. */
  heapUsed(): number;
  /** A full, synchronous collection. */
  fullGC(): void;
}

/** What the socket backends tell the collector policy. */
export interface CollectionHints {
  /** One socket read of `bytes` was taken. */
  received(bytes: number): void;
}

/** Counters, for tests and measurements. */
export interface CollectionCounts {
  /** Full collections run. */
  full: number;
  /** Milliseconds spent in them. */
  ms: number;
}

/**
 * The policy over a runtime's collector: `collector` undefined makes it a
 * no-op. Exported for tests (with a fake collector); the backends use
 * {@linkcode collectionHints}.
 */
export class CollectorPolicy implements CollectionHints {
  readonly counts: CollectionCounts = { full: 0, ms: 0 };
  readonly fullGrowthBytes: number;
  readonly #collector: Collector | undefined;
  readonly #defer: (run: () => void) => void;
  #reads = 0;
  #scheduled = false;
  #baseline: number;

  constructor(
    collector: Collector | undefined,
    options: { defer?: (run: () => void) => void; fullGrowthBytes?: number } = {},
  ) {
    this.#collector = collector;
    this.#defer = options.defer ?? setImmediate;
    this.fullGrowthBytes = options.fullGrowthBytes ?? FULL_GROWTH_BYTES;
    this.#baseline = collector?.heapUsed() ?? 0;
  }

  received(_bytes: number): void {
    const collector = this.#collector;
    if (!collector || this.#scheduled || ++this.#reads < CHECK_EVERY_READS) return;
    this.#reads = 0;
    if (collector.heapUsed() <= this.#baseline + this.fullGrowthBytes) return;
    this.#scheduled = true;
    this.#defer(this.#collect);
  }

  /**
   * The deferred full collection: made once, not a closure in received(),
   * which runs at every socket read (JavaScriptCore makes a scope object at
   * every call of a function that holds a closure, taken or not).
   */
  readonly #collect = (): void => {
    const collector = this.#collector!;
    const start = performance.now();
    collector.fullGC();
    this.#baseline = collector.heapUsed();
    this.counts.full++;
    this.counts.ms += performance.now() - start;
    this.#scheduled = false;
  };
}

/** Bun's collector, when running under Bun; else undefined. */
function bunCollector(): Collector | undefined {
  if (!("Bun" in globalThis)) return undefined;
  try {
    const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown })
      .getBuiltinModule;
    const jsc = getBuiltin?.("bun:jsc") as { fullGC?: () => unknown } | undefined;
    const fullGC = jsc?.fullGC;
    if (typeof fullGC !== "function") return undefined;
    return {
      heapUsed: () => process.memoryUsage().heapUsed,
      fullGC: () => void fullGC(),
    };
  } catch {
    return undefined; // no such module: no hints
  }
}

/** The process's policy: active in Bun, a no-op elsewhere. */
export const collectionHints: CollectorPolicy = new CollectorPolicy(bunCollector());
