/**
 * The READDIR cookies of one listing, to notice one that comes round again
 * (a server that would list a directory forever: the kernel's nfs_readdir
 * reports "directory contains a readdir loop"). RFC 7530 §16.24 and RFC
 * 8881 §18.23 leave cookies opaque; servers hand them out in order, rising
 * or falling (Ganesha's VFS export: falling). A cookie beyond every one
 * noted before cannot be one of them: it is kept in a plain list, with no
 * lookup. The first one within their range makes a set of them all, used
 * from then on. A listing of 10,000 entries kept a Set of 10,000 cookies
 * before (about 750 KB allocated as it grew, and a lookup and an insert per
 * entry).
 * @module
 */

import type { Int64Value } from "../nfs4/attrs.ts";

/** The cookies noted at most: a loop longer than this goes unseen (memory stays bounded). */
export const MAX_NOTED_COOKIES = 1_000_000;

/**
 * The cookies seen so far in a listing.
 *
 * @example
 * ```ts
 * const seen = new SeenCookies();
 * seen.repeats(10); // false
 * seen.repeats(9); // false
 * seen.repeats(10); // true: a readdir loop
 * ```
 */
export class SeenCookies {
  readonly #limit: number;
  #count = 0;
  /** The lowest and highest cookie noted (meaningless while none is). */
  #low: Int64Value = 0;
  #high: Int64Value = 0;
  /** The cookies noted, while each was beyond the ones before; then the set of them. */
  #list: Int64Value[] | undefined = [];
  #set: Set<Int64Value> | undefined;

  /** `limit`: how many cookies are noted at most ({@linkcode MAX_NOTED_COOKIES}). */
  constructor(limit = MAX_NOTED_COOKIES) {
    this.#limit = limit;
  }

  /**
   * Whether `cookie` is one noted before; if not, it is noted (while fewer
   * than the limit are). A cookie is a Number below 2^53 and a bigint from
   * there ({@linkcode Int64Value}), so that each value has one form.
   */
  repeats(cookie: Int64Value): boolean {
    const count = this.#count;
    if (count > 0 && cookie >= this.#low && cookie <= this.#high) {
      let set = this.#set;
      if (set === undefined) {
        set = this.#set = new Set(this.#list);
        this.#list = undefined;
      }
      if (set.has(cookie)) return true;
    }
    if (count >= this.#limit) return false;
    if (count === 0 || cookie < this.#low) this.#low = cookie;
    if (count === 0 || cookie > this.#high) this.#high = cookie;
    this.#count = count + 1;
    if (this.#set !== undefined) this.#set.add(cookie);
    else this.#list!.push(cookie);
    return false;
  }
}
