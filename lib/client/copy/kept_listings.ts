/**
 * Directories' listings kept from a `cp -r` survey for the copy's own walk
 * (tree.ts), by path, within a budget of their estimated size in bytes
 * ({@linkcode CopyTuning.keptListingBytes}). Only for a tree on a server,
 * where each listing is READDIRs (RFC 8881 §18.23) and the server's work:
 * `cp -r` of 10,000 files of 4 KiB in 100 directories from Ganesha (the
 * binary, medians of 7 interleaved runs) took 2.54 → 2.20 s, 1.78 → 1.64
 * CPU-s and Ganesha 0.93 → 0.78 CPU-s when each directory was listed once
 * instead of twice, for 12 MB more peak RSS. A local tree's listing costs
 * little (statx(2) each), and keeping it gained nothing there (the same
 * wall time, 2% less CPU, 8 MB more memory).
 *
 * Each listing is handed out once (then let go), so what is kept shrinks as
 * the copy goes; what was never taken (a directory pruned after a failure)
 * goes with the survey at the copy's end.
 *
 * **How old a listing may be.** A kept listing, and every attribute in it
 * (the times `-p` gives, what `-u` compares, `nlink` for hard links, a
 * symlink's target), is as old as the survey: a file gone since fails as one
 * removed after its READDIR does, one added is not copied, as one added after
 * a listing is not. So it is taken only within {@linkcode KEPT_LISTING_MAX_AGE_MS}
 * of its listing's end (the kernel client's longest directory attribute cache,
 * acdirmax, is 60 s); an older one is listed again, as before.
 * @module
 */

import type { DirEntry } from "./side.ts";

/** A kept listing older than this (ms) is listed again. */
export const KEPT_LISTING_MAX_AGE_MS = 30_000;

/**
 * What an entry is taken to weigh on the heap, beside its strings: its
 * object, times and bigints (measured: about 500 bytes for an entry of a
 * listing from Ganesha, 1.2 KB of peak RSS).
 */
const ENTRY_BYTES = 400;

/** An entry's estimated size: its fixed part and its strings (2 bytes a unit at most). */
export function entryBytes(entry: DirEntry): number {
  let units = entry.name.length + entry.path.length + (entry.id?.length ?? 0);
  units += (entry.linkTarget?.length ?? 0) + (entry.owner?.length ?? 0) +
    (entry.group?.length ?? 0);
  return ENTRY_BYTES + 2 * units;
}

/** The listings one survey kept, for the copy to take. */
export class KeptListings {
  readonly #listings = new Map<string, { entries: DirEntry[]; bytes: number; at: number }>();
  #bytes = 0;

  /**
   * `budget`: the estimated bytes kept at most; `now`: the clock the age
   * of a listing is told by.
   */
  constructor(
    readonly budget: number,
    readonly now: () => number = () => performance.now(),
  ) {}

  /** Keeps a copy of `entries`, the listing of `dir`, if it fits the budget. */
  keep(dir: string, entries: readonly DirEntry[]): void {
    let bytes = 0;
    for (const entry of entries) bytes += entryBytes(entry);
    if (this.#bytes + bytes > this.budget) return;
    this.#bytes += bytes;
    this.#listings.set(dir, { entries: [...entries], bytes, at: this.now() });
  }

  /**
   * The kept listing of `dir`, given up: undefined if none was kept, or if
   * it is older than {@linkcode KEPT_LISTING_MAX_AGE_MS}.
   */
  take(dir: string): DirEntry[] | undefined {
    const kept = this.#listings.get(dir);
    if (kept === undefined) return undefined;
    this.#listings.delete(dir);
    this.#bytes -= kept.bytes;
    return this.now() - kept.at <= KEPT_LISTING_MAX_AGE_MS ? kept.entries : undefined;
  }

  /** The estimated bytes kept now. */
  get bytes(): number {
    return this.#bytes;
  }
}
