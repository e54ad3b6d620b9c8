/**
 * The NFSv4.1 fore-channel slot table (RFC 8881 §2.10.6; the kernel's
 * nfs4session.c).
 *
 * Each slot carries its own sequence id. A request takes the lowest free slot
 * at or below the target the server asked for, waits (FIFO) when all are busy,
 * and after the reply the server's `sr_highest_slotid` and
 * `sr_target_highest_slotid` grow or shrink the usable range. Slots beyond the
 * target keep their sequence ids in case the server raises it again; slots
 * beyond the server's highest slot id start again at sequence id 1, as the
 * server has let them go (the kernel's "Reset the sequence number for slots
 * that have been deallocated"): a server that makes them anew expects 1.
 *
 * Before its session is destroyed the table is drained (the kernel's
 * nfs4_begin_drain_session): {@linkcode SlotTable.beginDrain} refuses every
 * request that has not taken a slot yet, and {@linkcode SlotTable.idle}
 * resolves once the ones in flight have been answered.
 * @module
 */

/** One slot: id and the sequence id the next request on it will carry. */
export interface Slot {
  readonly id: number;
  /** The sequenceid to send next (starts at 1, RFC 8881 §2.10.6.1). */
  seqid: number;
  /**
   * The last request on this slot got no reply (timeout, connection lost):
   * the server may or may not have seen it, so its seqid is uncertain and
   * the slot is not handed out again (exactly_once.ts).
   */
  uncertain: boolean;
}

export interface SlotTableChange {
  readonly from: number;
  readonly to: number;
  readonly reason: string;
}

/**
 * The most slots a table grows to by default: the Linux client's bound
 * (NFS4_MAX_SLOT_TABLE, fs/nfs/nfs4session.h).
 */
export const MAX_SLOT_TABLE = 1024;

export class SlotTable {
  #slots: Slot[] = [];
  #busy: boolean[] = [];
  /** Highest slot id we may use now. */
  #target: number;
  /** Highest slot id the server will accept (its sr_highest_slotid). */
  #serverHighest: number;
  /**
   * The highest slot id this table ever uses, however high a SEQUENCE
   * reply's target and highest slot ids (RFC 8881 §18.46.3: the server may
   * raise them past the session's first grant) or a broken or hostile
   * server's (up to 2^32 - 1).
   */
  readonly #limit: number;
  #waiters: { resolve: (slot: Slot) => void; reject: (e: unknown) => void }[] = [];
  /** Set by beginDrain(): what a request asking for a slot now fails with. */
  #drained: { readonly error: unknown } | undefined;
  /** Who waits for no slot to be in use (idle()). */
  #idleWaiters: (() => void)[] = [];
  #onChange: ((change: SlotTableChange) => void) | undefined;

  /**
   * `maxSlots` is the session's granted ca_maxrequests (as many as the
   * client uses of them); `limit`, the most slots the table may grow to
   * (at least `maxSlots`).
   */
  constructor(
    maxSlots: number,
    onChange?: (change: SlotTableChange) => void,
    limit = MAX_SLOT_TABLE,
  ) {
    if (!Number.isInteger(maxSlots) || maxSlots < 1) {
      throw new RangeError(`slot table needs at least one slot, got ${maxSlots}`);
    }
    this.#limit = Math.max(maxSlots, limit) - 1;
    this.#target = maxSlots - 1;
    this.#serverHighest = maxSlots - 1;
    this.#onChange = onChange;
    this.#growTo(maxSlots - 1);
  }

  #growTo(highest: number): void {
    while (this.#slots.length <= highest) {
      this.#slots.push({ id: this.#slots.length, seqid: 1, uncertain: false });
      this.#busy.push(false);
    }
  }

  /** Number of usable slots now (target + 1). */
  get size(): number {
    return this.#target + 1;
  }

  /** Slots in use. */
  get inUse(): number {
    return this.#busy.filter(Boolean).length;
  }

  /** Requests waiting for a slot. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** The highest slot id in use, for SEQUENCE's sa_highest_slotid. */
  get highestUsed(): number {
    for (let i = this.#busy.length - 1; i >= 0; i--) if (this.#busy[i]) return i;
    return 0;
  }

  /**
   * The client's target highest slot id (the server's
   * sr_target_highest_slotid, never above its sr_highest_slotid nor the
   * table's limit): the highest slot id a request takes now.
   */
  get targetHighest(): number {
    return this.#target;
  }

  /**
   * The lowest free slot within the target, or waits for one. Once the
   * table is draining, fails with beginDrain()'s error.
   */
  acquire(signal?: AbortSignal): Promise<Slot> {
    if (this.#drained) return Promise.reject(this.#drained.error);
    const slot = this.#tryAcquire();
    if (slot) return Promise.resolve(slot);
    return this.#waitForSlot(signal);
  }

  /**
   * The lowest free slot within the target now, or undefined (acquire()
   * waits for one). Once the table is draining, throws beginDrain()'s error.
   */
  acquireNow(): Slot | undefined {
    if (this.#drained) throw this.#drained.error;
    return this.#tryAcquire();
  }

  /**
   * Queues for the next free slot. Apart from acquire(): its closures made
   * a scope object in every acquire() call, one per request.
   */
  #waitForSlot(signal: AbortSignal | undefined): Promise<Slot> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      if (!signal) {
        this.#waiters.push({ resolve, reject });
        return;
      }
      // The listener goes with the wait: the signal may be the state
      // manager's own, which lives as long as the client and would
      // otherwise gather one listener per wait.
      const onAbort = () => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) {
          this.#waiters.splice(i, 1);
          reject(signal.reason);
        }
      };
      const waiter = {
        resolve: (slot: Slot) => {
          signal.removeEventListener("abort", onAbort);
          resolve(slot);
        },
        reject: (e: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(e);
        },
      };
      this.#waiters.push(waiter);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Whether the request sent on slot `slotid` with sequence id `seqid` is
   * still outstanding: the slot is taken and its reply not yet processed
   * (a processed reply moves the slot's sequence id on before the slot is
   * freed). A callback's referring call (RFC 8881 §2.10.6.3) is looked up
   * here.
   */
  outstanding(slotid: number, seqid: number): boolean {
    return this.#busy[slotid] === true && this.#slots[slotid]!.seqid === seqid;
  }

  /** Slots left uncertain (for `state` and the tests). */
  get uncertainCount(): number {
    return this.#slots.filter((slot) => slot.uncertain).length;
  }

  /** Every usable slot is uncertain: only a new session can carry requests. */
  get allUncertain(): boolean {
    for (let i = 0; i <= this.#target; i++) if (!this.#slots[i]!.uncertain) return false;
    return true;
  }

  #tryAcquire(): Slot | undefined {
    for (let i = 0; i <= this.#target; i++) {
      if (!this.#busy[i] && !this.#slots[i]!.uncertain) {
        this.#busy[i] = true;
        return this.#slots[i];
      }
    }
    return undefined;
  }

  /** Frees a slot and hands a slot to the next waiter. */
  release(slot: Slot): void {
    this.#busy[slot.id] = false;
    // Taken before the server let it go, answered (or not) since.
    if (slot.id > this.#serverHighest) startAgain(slot);
    this.#wake();
    if (this.#idleWaiters.length > 0 && this.inUse === 0) {
      for (const wake of this.#idleWaiters.splice(0)) wake();
    }
  }

  #wake(): void {
    while (this.#waiters.length > 0) {
      const slot = this.#tryAcquire();
      if (!slot) return;
      this.#waiters.shift()!.resolve(slot);
    }
  }

  /**
   * Applies a SEQUENCE reply's slot ids (RFC 8881 §18.46.3): the target is the
   * number of slots the server wants used, never above its highest, nor
   * above the table's limit.
   */
  update(serverHighest: number, targetHighest: number): void {
    if (serverHighest < this.#serverHighest) {
      // The server let the slots above go; those in flight start again on release.
      for (let i = serverHighest + 1; i < this.#slots.length; i++) {
        if (!this.#busy[i]) startAgain(this.#slots[i]!);
      }
    }
    this.#serverHighest = serverHighest;
    const target = Math.max(0, Math.min(targetHighest, serverHighest, this.#limit));
    if (target === this.#target) return;
    const from = this.#target + 1;
    this.#growTo(target);
    this.#target = target;
    this.#onChange?.({
      from,
      to: target + 1,
      reason: `server target_highest_slotid ${targetHighest}, highest_slotid ${serverHighest}`,
    });
    this.#wake();
  }

  /** The server's last sr_highest_slotid. */
  get serverHighest(): number {
    return this.#serverHighest;
  }

  /** Fails every waiter (the session is being torn down). */
  failWaiters(error: unknown): void {
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }

  /**
   * The session is about to be destroyed (the kernel's
   * nfs4_begin_drain_session): no request takes a slot from now on. Those
   * waiting for one, and every later acquire(), fail with `error`; the
   * requests in flight keep their slots until answered ({@linkcode idle}).
   */
  beginDrain(error: unknown): void {
    this.#drained ??= { error };
    this.failWaiters(this.#drained.error);
  }

  /** Whether beginDrain() was called. */
  get draining(): boolean {
    return this.#drained !== undefined;
  }

  /**
   * Resolves once no slot is in use: at once when none is, else when the
   * last request in flight releases its slot. The caller bounds the wait.
   */
  idle(): Promise<void> {
    if (this.inUse === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }
}

/** A slot the server let go: the next request on it is new to the server. */
function startAgain(slot: Slot): void {
  slot.seqid = 1;
  slot.uncertain = false;
}
