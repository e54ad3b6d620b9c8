/**
 * A Set and a Map for long-lived tables whose entries come and go all the
 * time: the transport's calls, its calls by xid, the calls waiting on one
 * abort signal. A long read puts thousands of calls through each.
 *
 * Why not a plain Set or Map: JavaScriptCore's hash table keeps a deleted
 * entry's slot, and what the entry referred to, until the table is rebuilt
 * (when it grows). A table that lives long is in the old generation, so at
 * each young collection everything its deleted slots still refer to (a
 * call, its promise's reactions, the async frame behind them) counts as
 * reachable and is promoted, and only a full collection frees it. In Bun a
 * loop putting 200,000 objects through a Set of four grew the heap by
 * 11.5 MB between full collections; rebuilt every 256 deletions, by 1.5 MB.
 * In nfs4's READ path, tracked over 500 READs, 78 finished calls outlived
 * young collections with a rebuild every 256 deletions and 7-16 (those in
 * flight) with one every 8, hence {@linkcode REBUILD_AFTER_DELETIONS}.
 * Rebuilding a table of a few live entries costs next to nothing.
 */

/**
 * Deletions after which the table is rebuilt from its live entries (or as
 * many as it has live ones, if more: a rebuild then costs no more per
 * deletion than this).
 */
export const REBUILD_AFTER_DELETIONS = 8;

/** A Map rebuilt from its live entries every {@linkcode REBUILD_AFTER_DELETIONS} deletions. */
export class ChurnMap<K, V> {
  #entries = new Map<K, V>();
  #deletions = 0;

  get size(): number {
    return this.#entries.size;
  }

  has(key: K): boolean {
    return this.#entries.has(key);
  }

  get(key: K): V | undefined {
    return this.#entries.get(key);
  }

  set(key: K, value: V): this {
    this.#entries.set(key, value);
    return this;
  }

  delete(key: K): boolean {
    if (!this.#entries.delete(key)) return false;
    if (++this.#deletions >= Math.max(REBUILD_AFTER_DELETIONS, this.#entries.size)) {
      this.#entries = new Map(this.#entries);
      this.#deletions = 0;
    }
    return true;
  }

  clear(): void {
    this.#entries = new Map();
    this.#deletions = 0;
  }

  values(): IterableIterator<V> {
    return this.#entries.values();
  }
}

/**
 * A Set rebuilt from its live members every {@linkcode REBUILD_AFTER_DELETIONS}
 * deletions: a {@linkcode ChurnMap} of each member to itself.
 */
export class ChurnSet<T> implements Iterable<T> {
  readonly #members = new ChurnMap<T, T>();

  get size(): number {
    return this.#members.size;
  }

  has(member: T): boolean {
    return this.#members.has(member);
  }

  add(member: T): this {
    this.#members.set(member, member);
    return this;
  }

  delete(member: T): boolean {
    return this.#members.delete(member);
  }

  clear(): void {
    this.#members.clear();
  }

  [Symbol.iterator](): Iterator<T> {
    return this.#members.values();
  }
}
