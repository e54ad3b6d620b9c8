/**
 * The order of `nfs4 ls`, as coreutils `ls` sorts: by name (bytes, the C
 * and C.UTF-8 collation), by time newest first (`-t`, the time `-u`/`-c`
 * choose, to the nanosecond), by size largest first (`-S`), or not at all
 * (`-U`, the server's READDIR order). Ties are broken by name, and `-r`
 * reverses the whole comparison, ties included.
 * @module
 */

import type { FileInfo } from "../lib/client/types.ts";
import { compareNames, type TimeField, timeOf } from "./ls_format.ts";

/** What `ls` sorts by. */
export type SortKey = "name" | "time" | "size" | "none";

/** The sort of one `ls` run. */
export interface SortOptions {
  readonly key: SortKey;
  readonly reverse: boolean;
  /** The time `-t` compares (`-u` atime, `-c` ctime). */
  readonly time: TimeField;
}

/** Something listed: its attributes and the name it sorts by. */
export interface Sortable {
  readonly info: FileInfo;
  readonly name: string;
}

function compareBigint(a: bigint | undefined, b: bigint | undefined): number {
  // An unknown value sorts as the smallest.
  const x = a ?? -(2n ** 64n);
  const y = b ?? -(2n ** 64n);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The comparator of `options` (newest or largest first, then by name; `-r` reversed). */
export function comparator(options: SortOptions): (a: Sortable, b: Sortable) => number {
  const forward = (a: Sortable, b: Sortable): number => {
    let diff = 0;
    if (options.key === "time") {
      diff = compareBigint(timeOf(b.info, options.time), timeOf(a.info, options.time));
    } else if (options.key === "size") {
      diff = compareBigint(b.info.size, a.info.size);
    }
    return diff !== 0 ? diff : compareNames(a.name, b.name);
  };
  return options.reverse ? (a, b) => forward(b, a) : forward;
}

/**
 * Sorts `items` in place as `ls` would list them and returns them. With
 * `none` they keep their order (`-r` too has no effect then, as in
 * coreutils).
 */
export function sortListing<T extends Sortable>(items: T[], options: SortOptions): T[] {
  if (options.key === "none") return items;
  return items.sort(comparator(options));
}
