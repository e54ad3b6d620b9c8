/**
 * Open and lock state (the kernel's nfs4_state and nfs4_lock_state; RFC 7530
 * §9.1.4, §9.10).
 *
 * An open state is one (open owner, file) pair with its share access and
 * the current open stateid; its locks hang off it, one lock state per lock
 * owner, each with a lock stateid and the byte ranges held. Recovery marks
 * states for reclaim, and a state that could not be recovered is marked bad:
 * every later use fails with {@linkcode BadStateError} (the kernel's
 * NFS_CONTEXT_BAD, which makes write(2) fail with EBADF).
 * @module
 */

import type { FileHandle, Stateid } from "../nfs4/types.ts";
import { formatStateid, sameStateOther } from "../nfs4/types.ts";
import type { LockOwner, OpenOwner } from "./owners.ts";

/**
 * The share access and deny of an OPEN (RFC 7530 §9.9):
 * OPEN4_SHARE_ACCESS_READ, _WRITE or _BOTH, and OPEN4_SHARE_DENY_*.
 */
export interface ShareModes {
  readonly access: number;
  readonly deny: number;
}

/** The READ and WRITE bits of share_access and share_deny (no WANT_* bits). */
const SHARE_BITS = 0x3;

/** One number per (access, deny) pair, for counting the users of an open. */
function shareKey(share: ShareModes): number {
  return (share.access & SHARE_BITS) | ((share.deny & SHARE_BITS) << 2);
}

/** The pair {@linkcode shareKey} made `key` of. */
function keyShare(key: number): ShareModes {
  return { access: key & SHARE_BITS, deny: (key >> 2) & SHARE_BITS };
}

/** Whether every bit of `bits` is in `of`. */
function within(bits: number, of: number): boolean {
  return (bits & ~of) === 0;
}

/** How many of the two bits are set. */
function bitCount(bits: number): number {
  return (bits & 1) + ((bits >> 1) & 1);
}

/** `read+write`, `read deny write`: a share as traces print it. */
export function formatShare(share: ShareModes): string {
  const bits = (b: number) => ["none", "read", "write", "read+write"][b & SHARE_BITS]!;
  return share.deny & SHARE_BITS
    ? `${bits(share.access)} deny ${bits(share.deny)}`
    : bits(share.access);
}

/** Why a state needs recovery. */
export type ReclaimMark = "none" | "reboot" | "nograce";

/** A delegation held on a file (RFC 7530 §10.4). */
export interface Delegation {
  readonly type: "read" | "write";
  stateid: Stateid;
  /** Set when the server recalled it (or it is to go back for another reason). */
  recalled: boolean;
  /**
   * The file's change attribute when the delegation was granted (the OPEN's
   * GETATTR), which CB_GETATTR reports while this client holds no modified
   * data (RFC 7530 §10.4.3: "c"). Undefined when the OPEN fetched none.
   */
  change?: bigint | undefined;
  /**
   * The file's size as this client knows it: the OPEN's GETATTR, then its
   * own WRITEs and SETATTRs (files.ts noteWritten, noteSizeSet). CB_GETATTR
   * reports it (RFC 7530 §10.4.3: "the client will report its current view
   * of the file size").
   */
  size?: bigint | undefined;
  /**
   * The client ID it was granted under. A delegation of an earlier client
   * ID (the lease expired, the server restarted) is gone from the server
   * with that client ID; one of the current client ID may outlive the open
   * it came with (RFC 8881 §8.2.4: TEST_STATEID tells them apart).
   */
  readonly clientId?: bigint | undefined;
}

/** Operations on a state that could not be recovered fail with this (EBADF). */
export class BadStateError extends Error {
  /** The path the state was opened by. */
  readonly path: string;
  /** What a program that maps errors to errno values tells its user. */
  readonly code = "EBADF";

  /** The state of `path` lost in recovery for `reason`. */
  constructor(path: string, reason: string) {
    super(`${path}: Bad file descriptor: state lost in recovery (${reason})`);
    this.name = "BadStateError";
    this.path = path;
  }
}

/**
 * A release (CLOSE, LOCKU, DELEGRETURN, FREE_STATEID, OPEN_DOWNGRADE) that
 * was not sent: its stateid belongs to a client ID that recovery has since
 * replaced with a new one, and the server holds nothing of that client ID
 * (RFC 8881 §8.4.2, §8.4.3; RFC 7530 §9.6.2, §9.6.3): there is nothing to
 * release, and FREE_STATEID frees only stateids of the current client
 * (RFC 8881 §8.2.4, §18.38). The state is dropped locally; `reason` says
 * why (`its client ID 0x… was replaced after …`). StateManager.run()
 * throws it, the release that asked traces it.
 */
export class StateDroppedError extends Error {
  readonly reason: string;

  constructor(reason: string) {
    super(`not sent: ${reason}`);
    this.name = "StateDroppedError";
    this.reason = reason;
  }
}

export class OpenState {
  readonly owner: OpenOwner;
  readonly fh: FileHandle;
  /** The path the user named, for messages. */
  readonly path: string;
  /** The directory handle and name, for a 4.0 CLAIM_NULL re-open. */
  readonly parentFh: FileHandle | undefined;
  readonly name: string | undefined;
  stateid: Stateid;
  access: number;
  deny: number;
  readonly locks: LockState[] = [];
  reclaim: ReclaimMark = "none";
  /** Why the state was lost, once it is: every use then fails. */
  bad: string | undefined;
  delegation: Delegation | undefined;
  /**
   * The client ID the open's stateid was issued under, once that matters:
   * set when recovery replaces the client ID the open was made under (the
   * state keeps the old one until a reclaim gives it a stateid of the new
   * one, which sets this to the new one). Undefined: the current client ID.
   * A release of a state whose client ID is gone is not sent
   * (StateManager.clientIdGone, {@linkcode StateDroppedError}).
   */
  clientId: bigint | undefined;
  closed = false;
  /**
   * OPEN_DOWNGRADEs of this open, and OPENs that would upgrade it (files.ts
   * upgradeUnanswered), that were sent and never answered (no reply by the
   * deadline, stopped in flight): the server may have run them, each
   * moving the stateid's seqid on by one this client never saw (procs.ts
   * releaseOpen tries the next one when the CLOSE is refused
   * NFS4ERR_OLD_STATEID).
   */
  unansweredChanges = 0;
  /**
   * Its CLOSE is on its way (procs.ts closeOpen): a stateid error on
   * anything still in flight is no reason to open it again (recovery skips
   * it; the CLOSE says what the server held).
   */
  closing = false;
  /**
   * Opens of this file by this owner that share the state, counted by the
   * share access and deny each asked for (keyed by {@linkcode shareKey}):
   * the server keeps one open per (owner, file) and upgrades it to the
   * union of their shares (RFC 7530 §9.11, §16.16.5), so a second OPEN
   * returns the same stateid with a newer seqid. CLOSE goes out when the
   * last user closes; a user closing before that may leave a narrower union
   * in use, which OPEN_DOWNGRADE gives back (the kernel's n_rdonly,
   * n_wronly and n_rdwr of nfs4_state; procs.ts closeOpen).
   */
  readonly #shares = new Map<number, number>();
  /**
   * Users that closed without saying which share they held (a caller of
   * files.ts closeFile that does not say): still counted in `#shares`, so
   * the union stays as wide as any user left might need.
   */
  #unattributed = 0;
  /**
   * The shares of the OPENs the server granted on this open (keyed by
   * {@linkcode shareKey}): the "OPENs in effect" an OPEN_DOWNGRADE may
   * narrow to ({@linkcode sharesInUse}). Those of the server open whose
   * stateid "other" is `#openedOther`: a reclaim or re-open makes a new one,
   * which has seen one OPEN, of what it holds.
   */
  #opened = new Set<number>();
  #openedOther: Stateid;
  /**
   * The lock owner of a first LOCK the server refused (NFS4ERR_DENIED, or
   * any other answer that left no lock), for the next try, as the kernel's
   * nfs4_retry_setlk keeps its lock state: a 4.1 server queues blocked
   * locks and sends CB_NOTIFY_LOCK by lock owner (RFC 8881 §9.6, §20.11),
   * and a server may keep a 4.0 owner its refused LOCK made (RFC 7530
   * §16.10.5), which a new owner per try would leave piling up
   * (files.ts lockFile).
   */
  refusedLockOwner: LockOwner | undefined;
  /** Who is told when a lock of this open is given up ({@linkcode onLockLost}). */
  readonly #lockLostListeners = new Set<(notice: LockLostNotice) => void>();

  /**
   * Calls `listener` for each range of a lock of this open that the state
   * manager gives up from now on (procs.ts markLockLost, a failed lock
   * recovery: {@linkcode tellLockLost}); returns the unsubscribe function.
   * Every handle of the file shares the open, and so its listeners.
   */
  onLockLost(listener: (notice: LockLostNotice) => void): () => void {
    this.#lockLostListeners.add(listener);
    return () => this.#lockLostListeners.delete(listener);
  }

  /**
   * Tells the {@linkcode onLockLost} listeners that `ranges` are lost, one
   * call per range, at once (the state is marked first: a listener that
   * looks finds the lock unusable). A listener that throws is dropped, and
   * `dropped` is told why; the state manager goes on.
   */
  tellLockLost(
    ranges: readonly LockRange[],
    reason: string,
    dropped: (error: unknown) => void,
  ): void {
    for (const range of ranges) {
      for (const listener of [...this.#lockLostListeners]) {
        try {
          listener({ path: this.path, range, reason });
        } catch (e) {
          this.#lockLostListeners.delete(listener);
          dropped(e);
        }
      }
    }
  }

  constructor(init: {
    owner: OpenOwner;
    fh: FileHandle;
    path: string;
    parentFh?: FileHandle | undefined;
    name?: string | undefined;
    stateid: Stateid;
    access: number;
    deny?: number;
  }) {
    this.owner = init.owner;
    this.fh = init.fh;
    this.path = init.path;
    this.parentFh = init.parentFh;
    this.name = init.name;
    this.stateid = init.stateid;
    this.access = init.access;
    this.deny = init.deny ?? 0; // OPEN4_SHARE_DENY_NONE
    this.#openedOther = this.stateid;
    this.noteOpened({ access: this.access, deny: this.deny });
    this.addUser({ access: this.access, deny: this.deny });
  }

  /** How many opens of this file by this owner the state stands for. */
  get users(): number {
    let total = 0;
    for (const count of this.#shares.values()) total += count;
    return total - this.#unattributed;
  }

  /**
   * One more open shares the state: the first OPEN, each upgrade, and an
   * open that joined the state without an OPEN (files.ts openFile: a
   * shared open).
   */
  addUser(share: ShareModes): void {
    const key = shareKey(share);
    this.#shares.set(key, (this.#shares.get(key) ?? 0) + 1);
  }

  /**
   * The server granted an OPEN of `share` on this open: the first, or an
   * upgrade (files.ts recordOpen, called with the reply's stateid taken and
   * before `access` and `deny` are widened). Not a shared open's user,
   * which sent none.
   */
  noteOpened(share: ShareModes): void {
    this.#openedNow().add(shareKey(share));
  }

  /** `#opened`, started over when the server's open is a new one (see there). */
  #openedNow(): Set<number> {
    if (!sameStateOther(this.stateid, this.#openedOther)) {
      this.#openedOther = this.stateid;
      this.#opened = new Set([shareKey({ access: this.access, deny: this.deny })]);
    }
    return this.#opened;
  }

  /**
   * One user closed, giving up `share` (the access and deny it opened
   * with). A user that does not say, or names a share no user holds, is
   * taken off the count without narrowing the union of the rest.
   */
  dropUser(share?: ShareModes): void {
    const key = share === undefined ? undefined : shareKey(share);
    const count = key === undefined ? undefined : this.#shares.get(key);
    if (key === undefined || count === undefined) {
      this.#unattributed++;
      return;
    }
    if (count > 1) this.#shares.set(key, count - 1);
    else this.#shares.delete(key);
  }

  /**
   * What the open may be narrowed to now its users hold less (the share an
   * OPEN_DOWNGRADE asks for, procs.ts downgradeOpen; a reclaim re-opens
   * with it): the narrowest share that holds the union of the users'
   * shares (RFC 7530 §9.11) and that the server lets a downgrade ask for,
   * else the state's own (nothing to narrow). The users' union is that
   * share while every user came with an OPEN the server saw.
   *
   * What a downgrade may ask for: each of share_access and share_deny
   * "SHOULD equal the union of the ... bits specified for some subset of
   * the OPENs in effect for the current open-owner on the current file"
   * (RFC 8881 §18.18.3; RFC 7530 §16.19.4), else NFS4ERR_INVAL. Servers
   * hold to it by value: Ganesha and knfsd refuse an access or deny value
   * that no OPEN of the open asked for (`share_access_prev`,
   * `st_access_bmap`), even a union of ones that did. So both rules: the
   * share is the union of the OPENs in effect within it, and its access
   * and its deny were each asked for by one of them. A user that joined
   * without an OPEN (files.ts openFile, a shared open) holds a share the
   * server never saw, and the open keeps the wider share for it until the
   * last CLOSE. Nothing is asked that the server would refuse: Ganesha
   * (4.0) answers a refused OPEN_DOWNGRADE without taking the owner's
   * seqid, where RFC 7530 §9.1.7 has it taken, so the owner's next CLOSE
   * would be refused NFS4ERR_BAD_SEQID and the open left on the server.
   */
  sharesInUse(): ShareModes {
    let access = 0;
    let deny = 0;
    for (const key of this.#shares.keys()) {
      const share = keyShare(key);
      access |= share.access;
      deny |= share.deny;
    }
    const held: ShareModes = { access: this.access & SHARE_BITS, deny: this.deny & SHARE_BITS };
    const opened = [...this.#openedNow()].map(keyShare);
    let best: ShareModes | undefined;
    for (let a = 1; a <= SHARE_BITS; a++) {
      for (let d = 0; d <= SHARE_BITS; d++) {
        if (!within(access, a) || !within(deny, d)) continue;
        if (!within(a, held.access) || !within(d, held.deny)) continue;
        const inside = opened.filter((s) => within(s.access, a) && within(s.deny, d));
        const union = inside.reduce((u, s) => ({
          access: u.access | s.access,
          deny: u.deny | s.deny,
        }), { access: 0, deny: 0 });
        if (union.access !== a || union.deny !== d) continue;
        if (!inside.some((s) => s.access === a) || !inside.some((s) => s.deny === d)) continue;
        if (!best || bitCount(a) + bitCount(d) < bitCount(best.access) + bitCount(best.deny)) {
          best = { access: a, deny: d };
        }
      }
    }
    return best ?? held;
  }

  /**
   * Whether the state's access and deny include those of `share`: an OPEN
   * of the file asking for it would change nothing the server holds (RFC
   * 7530 §9.11: the open is the union of its OPENs).
   */
  covers(share: ShareModes): boolean {
    const access = share.access & SHARE_BITS;
    const deny = share.deny & SHARE_BITS;
    return (this.access & access) === access && (this.deny & deny) === deny;
  }

  /**
   * Whether the state denies some of its own access (`read+write deny
   * write`, `read deny read`): the server checks each further OPEN of the
   * file by this owner against that deny too (RFC 7530 §9.9, §16.16.5; RFC
   * 8881 §9.7), so one asking for what the state holds is refused
   * (files.ts openFile shares the state instead).
   */
  get deniesOwnAccess(): boolean {
    return (this.access & this.deny & SHARE_BITS) !== 0;
  }

  /** Throws {@linkcode BadStateError} when recovery has given this state up. */
  assertUsable(): void {
    if (this.bad !== undefined) throw new BadStateError(this.path, this.bad);
  }

  describe(): string {
    return `${this.path} ${formatStateid(this.stateid)}`;
  }
}

/** A byte range held by a lock (RFC 7530 §9.2). */
export interface LockRange {
  readonly type: "read" | "write";
  readonly offset: bigint;
  /** NFS4_UINT64_MAX means "to the end of file". */
  readonly length: bigint;
}

/** A lock the state manager gave up (OpenState.onLockLost, NfsFile.onLockLost). */
export interface LockLostNotice {
  /** The path the file was opened by. */
  readonly path: string;
  /** The range that is no longer held. */
  readonly range: LockRange;
  /** Why, as the trace's `lock lost` event says it (`the lease ran out locally: …`). */
  readonly reason: string;
}

export class LockState {
  readonly owner: LockOwner;
  readonly open: OpenState;
  /** Absent until the first LOCK succeeds. */
  stateid: Stateid | undefined;
  /** The client ID `stateid` was issued under, as {@linkcode OpenState.clientId}. */
  clientId: bigint | undefined;
  readonly ranges: LockRange[] = [];
  /**
   * Ranges a first LOCK (open_to_lock_owner4) may have been granted that
   * this client does not know of: the LOCK was sent and its answer never
   * came (no reply, stopped in flight), so `stateid` is still absent. The
   * lock owner is kept for them, and the release settles them before the
   * CLOSE (procs.ts settleUnknownLocks): otherwise the CLOSE meets
   * NFS4ERR_LOCKS_HELD and the lock stays until the lease ends.
   */
  readonly unsettled: LockRange[] = [];
  reclaim: ReclaimMark = "none";
  bad: string | undefined;
  /** When and why the lock stopped being protected (lease ran out, revoked), until settled. */
  lostAt: number | undefined;
  /**
   * When this client found the lease had ended (its lease watch, late after
   * a stopped process), for a lock lost by its own clock; `lostAt` is then
   * the lease's end.
   */
  lostNoticedAt: number | undefined;
  lostReason: string | undefined;

  constructor(owner: LockOwner, open: OpenState) {
    this.owner = owner;
    this.open = open;
  }

  assertUsable(): void {
    this.open.assertUsable();
    if (this.bad !== undefined) throw new BadStateError(this.open.path, this.bad);
  }

  /**
   * The server may have released this lock (lease expired, revoked, no
   * grace): recover it without grace, which for a lock means it is lost
   * unless re-taking was asked for (procs.ts recoverLostLock).
   */
  needsNoGrace(reason: string, at: number): void {
    this.reclaim = "nograce";
    this.lostAt ??= at;
    this.lostReason ??= reason;
  }
}

/** `0-`, `0-99`, `100-` (inclusive end), as traces print a range. */
export function formatRange(offset: bigint, length: bigint): string {
  const MAX = 0xffff_ffff_ffff_ffffn;
  // Length 0 is no range a lock can hold; servers (Ganesha) say it for "to EOF".
  if (length === 0n || length === MAX || offset + length > MAX) return `${offset}-`;
  return `${offset}-${offset + length - 1n}`;
}
