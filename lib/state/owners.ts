/**
 * State owners (RFC 7530 §9.1.5, §9.1.7; the kernel's nfs4_state_owner and
 * nfs4_lock_state owners).
 *
 * An owner names who holds opens or locks. On NFSv4.0 each owner carries a
 * sequence id that every seqid-mutating operation (OPEN, OPEN_CONFIRM,
 * OPEN_DOWNGRADE, CLOSE, LOCK, LOCKU) uses and advances; those operations are
 * serialised per owner so the server sees seqids in order. On NFSv4.1 the
 * seqid is ignored (RFC 8881 §8.13) and SEQUENCE orders requests.
 * @module
 */

import { Nfs4Status as S } from "../nfs4/status.ts";

let ownerCounter = 0;

/** Statuses after which the seqid does NOT advance (RFC 7530 §9.1.7). */
const SEQID_NOT_ADVANCED = new Set<number>([
  S.NFS4ERR_STALE_CLIENTID,
  S.NFS4ERR_STALE_STATEID,
  S.NFS4ERR_BAD_STATEID,
  S.NFS4ERR_BAD_SEQID,
  S.NFS4ERR_BADXDR,
  S.NFS4ERR_RESOURCE,
  S.NFS4ERR_NOFILEHANDLE,
  S.NFS4ERR_MOVED,
]);

/** Whether a seqid-mutating op that returned `status` consumed its seqid. */
export function seqidAdvances(status: number): boolean {
  return !SEQID_NOT_ADVANCED.has(status);
}

/** An owner with a seqid and a queue serialising its seqid-mutating operations. */
export class StateOwner {
  /** The owner opaque sent to the server. */
  readonly id: Uint8Array;
  /** Printable form of `id`, for traces. */
  readonly label: string;
  /** The seqid the next seqid-mutating operation will carry (4.0). */
  seqid = 0;
  /**
   * Set after NFS4ERR_BAD_SEQID or a seqid-mutating request left unanswered
   * (kernel nfs4_drop_state_owner): no new open or lock state uses it; the
   * states it holds keep it for their CLOSE, LOCKU and reclaim.
   */
  retired = false;
  #tail: Promise<void> = Promise.resolve();
  /** serialise() calls not yet finished: in flight, or waiting for their turn. */
  #queued = 0;

  constructor(kind: "open" | "lock", tag: string) {
    const label = `${kind}-${tag}-${++ownerCounter}`;
    this.label = label;
    this.id = new TextEncoder().encode(label);
  }

  /**
   * Runs `fn` with this owner's seqid operations serialised: no other
   * seqid-mutating operation of this owner is in flight meanwhile.
   */
  async serialise<T>(fn: () => Promise<T>, wait?: AbortSignal): Promise<T> {
    const previous = this.#tail;
    let done!: () => void;
    this.#tail = new Promise<void>((resolve) => (done = resolve));
    this.#queued++;
    try {
      try {
        await (wait ? untilAborted(previous, wait) : previous);
      } catch (e) {
        // It gave up its turn before it came (`wait` aborted: the
        // operation's deadline, an interrupt): those queued behind it still
        // go after the request it waited for, never beside it.
        void previous.then(done);
        throw e;
      }
      try {
        return await fn();
      } finally {
        done();
      }
    } finally {
      this.#queued--;
    }
  }

  /** No seqid operation of this owner is in flight or queued: serialise() runs `fn` at once. */
  get idle(): boolean {
    return this.#queued === 0;
  }

  /** Records the outcome of a seqid-mutating operation (RFC 7530 §9.1.7). */
  advance(status: number): void {
    // Any answer but NFS4ERR_BAD_SEQID says the seqid assumeRan() guessed
    // was the server's: the guess stands.
    if (status !== S.NFS4ERR_BAD_SEQID) this.#guessedFrom = undefined;
    if (seqidAdvances(status)) this.seqid = (this.seqid + 1) >>> 0;
  }

  /**
   * The seqid before assumeRan() took an unanswered request as run, until
   * an answer of this owner's next request says the guess was right.
   */
  #guessedFrom: number | undefined;

  /**
   * A seqid-mutating request of this owner got no answer: taken as run, as
   * the kernel's nfs_increment_seqid takes a local error. The other guess
   * is the dangerous one: were the next request of this owner sent with the
   * same seqid and the server had run the lost one, the server would take
   * it as that one's replay (RFC 7530 §9.1.9) and answer it with the lost
   * request's reply, whatever it asked (a LOCK of other bytes "granted", a
   * CLOSE "done"). With seqid+1 a server that had not run it refuses the
   * next one (NFS4ERR_BAD_SEQID): a failure, never a wrong success.
   */
  assumeRan(): void {
    this.#guessedFrom ??= this.seqid;
    this.seqid = (this.seqid + 1) >>> 0;
  }

  /**
   * The next request after assumeRan() was refused NFS4ERR_BAD_SEQID: the
   * last unanswered request did not run. RFC 7530 §9.1.7: the server takes
   * its last seqid of the owner as a replay and the one after as the next,
   * and refuses any other; refused seqid x + 1 says its last is neither x
   * nor x + 1. So x, one back, is not a replay of anything it ran, and is
   * the next it expects when its last is x - 1. Back one at a time, never
   * below the first unanswered request's seqid (the answered one before it
   * was the server's last at least): with one request unanswered, its own
   * seqid at once. False when nothing is guessed (any more).
   */
  takeBackGuess(): boolean {
    if (this.#guessedFrom === undefined) return false;
    this.seqid = (this.seqid - 1) >>> 0;
    if (this.seqid === this.#guessedFrom) this.#guessedFrom = undefined;
    return true;
  }

  /** Whether the seqid is assumeRan()'s guess, not yet confirmed by an answer. */
  get guessed(): boolean {
    return this.#guessedFrom !== undefined;
  }

  /** Seqids start over (a new client ID makes old owners new to the server). */
  resetSeqid(): void {
    this.seqid = 0;
    this.#guessedFrom = undefined;
  }
}

/** An open owner: one per credential, like the kernel's per-cred state owner. */
export class OpenOwner extends StateOwner {
  readonly uid: number;
  /** Whether the server has confirmed this owner (4.0 OPEN_CONFIRM). */
  confirmed = false;

  constructor(uid: number, tag: string) {
    super("open", tag);
    this.uid = uid;
  }
}

/** A lock owner: per process and open owner (distinct processes never share one). */
export class LockOwner extends StateOwner {
  constructor(tag: string) {
    super("lock", tag);
  }
}

/**
 * Released owners are kept a while for reuse and then forgotten, like the
 * kernel's state-owner LRU (nfs4_gc_state_owners): reusing an owner saves
 * the server a new owner record and, on 4.0, an OPEN_CONFIRM.
 */
export class OwnerCache<T extends StateOwner> {
  readonly #idle = new Map<T, number>();
  readonly #maxIdleMs: number;
  readonly #now: () => number;

  constructor(maxIdleMs: number, now: () => number) {
    this.#maxIdleMs = maxIdleMs;
    this.#now = now;
  }

  /** Puts an owner with nothing left open aside for reuse. */
  park(owner: T): void {
    this.#idle.set(owner, this.#now());
  }

  /** An idle owner matching `accept`, or undefined. Expired ones are forgotten. */
  take(accept: (owner: T) => boolean): T | undefined {
    this.expire();
    for (const owner of this.#idle.keys()) {
      if (accept(owner)) {
        this.#idle.delete(owner);
        return owner;
      }
    }
    return undefined;
  }

  /** Forgets owners idle for longer than the limit; returns them. */
  expire(): T[] {
    const gone: T[] = [];
    const now = this.#now();
    for (const [owner, since] of this.#idle) {
      if (now - since > this.#maxIdleMs) {
        this.#idle.delete(owner);
        gone.push(owner);
      }
    }
    return gone;
  }

  /** Forgets everything (all state purged). */
  clear(): void {
    this.#idle.clear();
  }

  get size(): number {
    return this.#idle.size;
  }
}

/**
 * A lock owner of this process (its label names the pid, and counts up):
 * one per lock state, that is per open file, as the kernel has one per
 * nfs4_lock_state. On 4.0 an owner's sequence id then orders the LOCKs and
 * LOCKUs of one file only: a refusal or a lost reply on one file, which
 * servers count differently (a LOCK refused for a new lock owner advances
 * its sequence id on some, not on Ganesha), never puts the locks of
 * another file out of step.
 */
export function newLockOwner(): LockOwner {
  return new LockOwner(`p${globalThis.process?.pid ?? 0}`);
}

/** `promise`, or the abort reason as soon as `signal` aborts. */
function untilAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
