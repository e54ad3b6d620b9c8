/**
 * Bytes of ArrayBuffer memory this isolate holds (V8's external memory).
 *
 * Tests that prove a hostile length is rejected "without allocating" measure
 * this rather than the process RSS because:
 * - `deno test --parallel` runs every test module as a worker in one process,
 *   so RSS also grows with whatever another module allocates meanwhile (a
 *   CI run failed that way);
 * - a large ArrayBuffer is counted here the moment it is created, while RSS
 *   only grows once its pages are touched, so this is the stricter check.
 */
export function isolateBufferBytes(): number {
  return Deno.memoryUsage().external;
}

/** Most a rejection may allocate: far below any claimed length it refuses. */
export const REJECTION_ALLOCATION_LIMIT = 64 * 1024 * 1024;
