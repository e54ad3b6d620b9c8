/**
 * A small file read whole in as few COMPOUNDs as the protocol allows: what
 * `nfs4 cat` of many files and `cp -r` of small files spend their requests
 * on. The state manager owns these shapes, as it owns OPEN and CLOSE: the
 * open is recorded exactly as any OPEN (lib/state/files.ts recordOpen), so
 * recovery, the trace and the ordering of OPENs and CLOSEs see it, and it is
 * forgotten only once a CLOSE the server answered NFS4_OK says it is gone.
 *
 * **NFSv4.1: one COMPOUND.** `SEQUENCE PUTFH(dir) OPEN(CLAIM_NULL name,
 * NOCREATE) GETFH GETATTR READ(current stateid) CLOSE(current stateid)`:
 * OPEN sets the current stateid, which READ and CLOSE name with the special
 * stateid {seqid 1, other 0} (RFC 8881 §16.2.3.1.2, §18.16.3). GETATTR
 * comes before READ, so the size, change and fileid describe the file the
 * READ read. The server runs the ops in order and cannot branch: the CLOSE
 * runs whatever the READ found. So the READ asks for as much as the client
 * is willing to hold for a "small" file, and:
 * - READ's eof: the data is the whole file, already closed. One COMPOUND.
 * - no eof (the file is larger): it was closed all the same. The file is
 *   opened again, a new OPEN (not a re-run of the first: the first is done
 *   and closed), and its GETATTR compared with the first's: the same fileid
 *   and change attribute mean the same file, unchanged, so the bytes read
 *   stand and reading goes on from where they end; anything else (or a
 *   server that gives no change attribute) drops them and the new open is
 *   read from byte 0. Nothing has been handed to the caller yet at that
 *   point, so starting over is always possible.
 *
 * The alternatives were worse: leaving CLOSE out whenever the file might be
 * large costs a COMPOUND for every small file (the common case); reading
 * with the anonymous stateid bypasses our open (share reservations, RFC
 * 8881 §8.2.3) and is not an option.
 *
 * **Several files to a COMPOUND.** The files asked for in the same turn of
 * the event loop (cat opens up to 16 ahead at once) go into one COMPOUND,
 * one `PUTFH OPEN GETFH GETATTR READ CLOSE` after the other: PUTFH gives
 * each OPEN a fresh current filehandle, and its OPEN a fresh current
 * stateid. As many as the session's granted ops allow and the cached
 * reply has room for (below), for files the size of the last COMPOUND's
 * largest: files larger than their share of the room are read on as above.
 * A COMPOUND per file costs the client more than the ops in it.
 *
 * Each file uses an open owner of its own for its flight (a small pool,
 * RFC 8881 §18.16.3 open_owner4): the server shares one open state among
 * the OPENs of one owner on one file, so a second OPEN of the same file
 * (`cat a a`, a hard link) under the same owner while this COMPOUND is in
 * flight would be closed under it by this COMPOUND's CLOSE. With an owner
 * no other OPEN uses meanwhile, no other open can join this one.
 *
 * The reply must fit the session's cached reply size: the COMPOUND changes
 * state, so its reply is cached for a resend (sa_cachethis, RFC 8881
 * §18.46.3, lib/state/exactly_once.ts), and a READ that could make it
 * larger is refused NFS4ERR_REP_TOO_BIG_TO_CACHE (Ganesha 4.3 checks the
 * READs' counts). The READs ask for at most that size, less room for the
 * other results, in all.
 *
 * **When it fails part way.** A COMPOUND stops at its first failure; the
 * manager's retry rules must never run it again once an OPEN in it
 * succeeded (that would be a second OPEN the caller did not ask for). So as
 * soon as the reply shows an OPEN succeeded, its status goes back to this
 * module whatever it is. The files before the failure are done; files after
 * it never ran and are sent again on their own; for the file it hit, what
 * was not done is done with separate COMPOUNDs
 * through the usual paths (recovery included): READ failed: `PUTFH READ
 * CLOSE` with the open's own stateid; CLOSE failed: CLOSE alone
 * (closeFile). A READ refused with NFS4ERR_BAD_STATEID is taken to mean the
 * server does not honour the current stateid: this client then uses two
 * COMPOUNDs per file for the rest of its life (the trace says so once).
 * Failures before the OPEN succeeded (a stale directory handle, ENOENT, a
 * symlink or directory by that name) went through the usual table and come
 * back to the caller with nothing opened.
 *
 * **NFSv4.0, or when the current stateid is refused: two COMPOUNDs.** The
 * ordinary OPEN (openFile, with its OPEN_CONFIRM when the server asks, RFC
 * 7530 §16.18), then, when its GETATTR says the file fits, `PUTFH READ
 * CLOSE` (files.ts readThenClose: READ does not advance the owner's seqid,
 * CLOSE does, RFC 7530 §9.1.7); a larger file stays open and is read as
 * usual.
 * @module
 */

import { setImmediate } from "node:timers";
import { type Nfs4Op, tapped } from "../nfs4/compound.ts";
import { Attr, type DecodedFattr } from "../nfs4/attrs.ts";
import { OpenClaimType, ShareAccess } from "../nfs4/constants.ts";
import { NfsError } from "../nfs4/errors.ts";
import { close } from "../nfs4/ops/close.ts";
import { getattr } from "../nfs4/ops/getattr.ts";
import { getfh } from "../nfs4/ops/getfh.ts";
import { open, type OpenResult } from "../nfs4/ops/open.ts";
import { putfh } from "../nfs4/ops/putfh.ts";
import { read, type ReadResult } from "../nfs4/ops/read.ts";
import { Nfs4Status as S } from "../nfs4/status.ts";
import { CURRENT_STATEID, type FileHandle, formatStateid } from "../nfs4/types.ts";
import { actionForStatus } from "./error_table.ts";
import { closeFile, openFile, readThenClose, recordOpen } from "./files.ts";
import type { RunOptions, StateManager } from "./manager.ts";
import type { OpenState } from "./open_state.ts";
import { OpenOwner } from "./owners.ts";
import { forgetOpen, returnDelegation } from "./procs.ts";

/** A file to open by name in a directory whose handle the caller holds. */
export interface SmallReadRequest {
  readonly dirFh: FileHandle;
  readonly name: string;
  /** The path the user named, for messages and traces. */
  readonly path: string;
  /** Attributes for the OPEN's GETATTR; SIZE, CHANGE and FILEID are added. */
  readonly attrs?: readonly number[];
  /** The most bytes worth reading ahead in the OPEN's COMPOUND (the client's "small"). */
  readonly count: number;
}

/**
 * What was read, and the open to read on from, if any. `data` is bytes
 * `[0, data.length)` of the file `state` has open (or of the file, when
 * `state` is undefined); `eof`: that is all of it.
 */
export interface SmallRead {
  /** The GETATTR of the open the data belongs to. */
  readonly attrs: DecodedFattr;
  readonly data: Uint8Array;
  readonly eof: boolean;
  /** Still open: the caller reads on after `data` (unless `eof`) and closes it. */
  readonly state: OpenState | undefined;
}

/** Ops in the one-COMPOUND shape, SEQUENCE included. */
const ONE_COMPOUND_OPS = 7;
/** Room left in the cached reply for everything but READ's data. */
const REPLY_ROOM = 2048;
/** Below this the one-COMPOUND READ would be too small to be worth it. */
const MIN_ONE_COMPOUND_READ = 4096;
/** Attributes the re-open check needs. */
const CHECK_ATTRS = [Attr.TYPE, Attr.SIZE, Attr.CHANGE, Attr.FILEID];
const EMPTY = new Uint8Array(0);

/** Per manager: owners free for the next COMPOUND, and whether the current stateid was refused. */
interface SmallFileState {
  readonly freeOwners: OpenOwner[];
  currentStateidRefused: boolean;
  /** Less room for READ data after the server found a reply too big to cache. */
  readLimit: number | undefined;
  /** Files waiting to be sent, and whether a send is scheduled. */
  readonly queue: Queued[];
  sendScheduled: boolean;
  /** The largest file of the last COMPOUND: how much room the next ones' READs get. */
  typicalSize: bigint;
}

/** A file waiting for its place in a one-COMPOUND shape. */
interface Queued {
  readonly request: SmallReadRequest;
  readonly resolve: (read: SmallRead) => void;
  readonly reject: (error: unknown) => void;
}
const perManager = new WeakMap<StateManager, SmallFileState>();

function stateOf(m: StateManager): SmallFileState {
  let s = perManager.get(m);
  if (!s) {
    s = {
      freeOwners: [],
      currentStateidRefused: false,
      readLimit: undefined,
      queue: [],
      sendScheduled: false,
      typicalSize: 0n,
    };
    perManager.set(m, s);
  }
  return s;
}

/** The READ count the one-COMPOUND shape may use now, or 0 when it cannot be used. */
export function oneCompoundReadCount(m: StateManager, wanted: number): number {
  const session = m.client.session;
  if (!m.sessions || !session || stateOf(m).currentStateidRefused) return 0;
  if (session.fore.maxOperations < ONE_COMPOUND_OPS) return 0;
  const count = cachedReadCount(m, wanted);
  return count >= MIN_ONE_COMPOUND_READ ? count : 0;
}

/**
 * A READ count whose reply fits the session's cached reply size with room
 * for the rest of a state-changing COMPOUND (its reply is cached: RFC 8881
 * §18.46.3); on 4.0 `wanted` itself.
 */
function cachedReadCount(m: StateManager, wanted: number): number {
  const session = m.client.session;
  if (!m.sessions || !session) return wanted;
  const limit = stateOf(m).readLimit ?? session.fore.maxResponseSizeCached - REPLY_ROOM;
  return Math.max(0, Math.min(wanted, limit));
}

/**
 * Opens `request.name` in `request.dirFh` for reading (share READ, deny
 * NONE, never creating) and reads its first bytes, closing it at once when
 * they are the whole file. See the module comment for the COMPOUNDs sent.
 * Failures name `request.path`; whatever this opened and did not hand back
 * is closed before it throws.
 */
export async function openAndRead(m: StateManager, request: SmallReadRequest): Promise<SmallRead> {
  if (oneCompoundReadCount(m, request.count) > 0) {
    return await new Promise<SmallRead>((resolve, reject) => {
      const s = stateOf(m);
      s.queue.push({ request, resolve, reject });
      if (!s.sendScheduled) {
        s.sendScheduled = true;
        // The files asked for meanwhile (cat opens several ahead at once)
        // share COMPOUNDs.
        setImmediate(() => sendQueued(m));
      }
    });
  }
  const opened = await openFile(m, { ...openRequest(request), attrs: attrsOf(request) });
  return await readAfterOpen(m, request, opened.state, opened.attrs);
}

function openRequest(request: SmallReadRequest) {
  return {
    dirFh: request.dirFh,
    name: request.name,
    path: request.path,
    access: ShareAccess.OPEN4_SHARE_ACCESS_READ,
  };
}

function attrsOf(request: SmallReadRequest): number[] {
  return [...new Set([...(request.attrs ?? []), ...CHECK_ATTRS])];
}

/** Most files in one COMPOUND (each adds OPS_PER_FILE ops and its READ's reply). */
const MAX_FILES_PER_COMPOUND = 8;
/** Reply bytes per file besides READ's data (OPEN, GETFH, GETATTR, CLOSE results). */
const PER_FILE_ROOM = 1024;

/** Sends the queued files, as many to a COMPOUND as its ops and cached reply allow. */
function sendQueued(m: StateManager): void {
  const s = stateOf(m);
  s.sendScheduled = false;
  const queue = s.queue.splice(0);
  while (queue.length > 0) {
    const session = m.client.session;
    const room = cachedReadCount(m, Number.MAX_SAFE_INTEGER);
    const byOps = session ? Math.floor((session.fore.maxOperations - 1) / OPS_PER_FILE) : 1;
    // Room for files the size of the last COMPOUND's largest.
    const want = Math.max(MIN_ONE_COMPOUND_READ, Number(s.typicalSize) + 1);
    const byRoom = Math.floor((room + PER_FILE_ROOM) / (want + PER_FILE_ROOM));
    const n = Math.max(1, Math.min(queue.length, byOps, byRoom, MAX_FILES_PER_COMPOUND));
    const batch = queue.splice(0, n);
    const perFile = Math.floor((room - (n - 1) * PER_FILE_ROOM) / n);
    const count = Math.min(perFile, ...batch.map((q) => q.request.count));
    if (count < MIN_ONE_COMPOUND_READ && n === 1) {
      // The shape cannot be used any more (the READ room shrank): one by one.
      for (const q of batch) void openAndRead(m, q.request).then(q.resolve, q.reject);
      continue;
    }
    void runBatch(m, batch, count);
  }
}

/**
 * `run()`'s `final` for the one-COMPOUND shape: every status is final once
 * the reply showed an OPEN succeeded. From then on the manager must hand the
 * reply back rather than apply its retry rules to the whole COMPOUND (see
 * the module comment).
 */
function finalOnceOpened(opened: () => boolean): NonNullable<RunOptions["final"]> {
  return { has: () => opened() };
}

/** What the decoder saw of one attempt's reply, op by op, even when a later op failed. */
interface Seen {
  /** The READ count asked for. */
  count?: number;
  open?: OpenResult;
  fh?: FileHandle;
  attrs?: DecodedFattr;
  read?: ReadResult;
  closed?: boolean;
}

/** Ops per file in the one-COMPOUND shape: PUTFH OPEN GETFH GETATTR READ CLOSE. */
const OPS_PER_FILE = 6;

/** The ops of one file, telling `seen` what the reply says of each. */
function fileOps(
  m: StateManager,
  request: SmallReadRequest,
  owner: OpenOwner,
  seen: Seen,
  count: number,
): Nfs4Op<unknown>[] {
  seen.count = count;
  return [
    putfh(request.dirFh),
    tapped(
      open({
        seqid: 0,
        // Any delegation would be given back at once (below): ask for none.
        shareAccess: ShareAccess.OPEN4_SHARE_ACCESS_READ |
          ShareAccess.OPEN4_SHARE_ACCESS_WANT_NO_DELEG,
        shareDeny: 0,
        owner: { clientid: m.client.clientId!, owner: owner.id },
        claim: { claim: OpenClaimType.CLAIM_NULL, file: request.name },
      }),
      (v) => seen.open = v,
    ),
    tapped(getfh(), (v) => seen.fh = v),
    tapped(getattr(attrsOf(request)), (v) => seen.attrs = v),
    tapped(read({ stateid: CURRENT_STATEID, offset: 0n, count }), (v) => seen.read = v),
    tapped(close({ seqid: 0, stateid: CURRENT_STATEID }), () => seen.closed = true),
  ];
}

/**
 * Sends the one-COMPOUND shape for `batch`, one file after the other in
 * the same COMPOUND (each file's ops start with its own PUTFH, which gives
 * OPEN a fresh current stateid to set), and settles each file's promise.
 * The COMPOUND stops at its first failure (RFC 8881 §16.2.3): the files
 * before it are done, the one it hit is settled as the one-file shape
 * would be, and those after it never ran and go on their own.
 */
async function runBatch(m: StateManager, batch: readonly Queued[], count: number): Promise<void> {
  const owners = batch.map(() => takeOwner(m));
  let seen: Seen[] = batch.map(() => ({}));
  let failure: { error: unknown } | undefined;
  try {
    await m.run(
      () => {
        const attempt: Seen[] = seen = batch.map(() => ({}));
        return batch.flatMap((q, i) => fileOps(m, q.request, owners[i]!, attempt[i]!, count));
      },
      { final: finalOnceOpened(() => seen.some((s) => s.open !== undefined)) },
    );
  } catch (error) {
    failure = { error };
    if (error instanceof NfsError && error.status === S.NFS4ERR_REP_TOO_BIG_TO_CACHE) {
      tooBigToCache(m, count * batch.length, batch[0]!.request.path);
    }
  }
  if (batch.length > 1) {
    // The files' data are views of one reply, which may be a pooled record
    // buffer (lib/rpc/socket_buffers.ts) that the consumer of a file's data
    // hands back once it is written: the first file handed back would let
    // the next large reply overwrite the others' bytes. Each file gets its
    // own copy (they are small: the whole reply fits the cached reply size).
    for (const s of seen) if (s.read) s.read = { ...s.read, data: s.read.data.slice() };
  }
  const failedOp = failure?.error instanceof NfsError ? failure.error.opIndex : undefined;
  const failedFile = failedOp === undefined ? undefined : Math.floor(failedOp / OPS_PER_FILE);
  let largest = 0n;
  for (const s of seen) {
    const size = s.attrs?.attrs.size;
    if (size !== undefined && size > largest) largest = size;
  }
  stateOf(m).typicalSize = largest;
  // Whether the manager's table was bypassed (an OPEN in it succeeded).
  const opened = seen.some((s) => s.open !== undefined);
  await Promise.all(batch.map(async (q, i) => {
    try {
      q.resolve(
        await settleFile(m, q.request, owners[i]!, seen[i]!, failure, i === failedFile, opened),
      );
    } catch (e) {
      q.reject(e);
    } finally {
      giveBackOwner(m, owners[i]!);
    }
  }));
}

/** One file of a sent one-COMPOUND shape: see runBatch. */
async function settleFile(
  m: StateManager,
  request: SmallReadRequest,
  owner: OpenOwner,
  seen: Seen,
  failure: { error: unknown } | undefined,
  failedHere: boolean,
  anyOpened: boolean,
): Promise<SmallRead> {
  if (seen.closed && seen.open && seen.fh && seen.attrs && seen.read) {
    const state = recordOpen(m, owner, openRequest(request), seen.open, seen.fh);
    // The COMPOUND's CLOSE succeeded: the server holds no open any more.
    if (m.tracer.active) {
      m.tracer.emit(
        "open",
        "CLOSE",
        `${request.path} ${formatStateid(state.stateid)} (in the OPEN's COMPOUND, after READ)`,
      );
    }
    forgetOpen(m, state);
    if (state.delegation) await returnDelegation(m, state);
    return await afterClosedRead(m, request, seen.attrs, seen.read, seen.count!);
  }
  const error = failure?.error;
  // Opened, then a later op of this file failed: the open exists.
  if (seen.open) return await afterPartFailed(m, request, owner, seen, error);
  if (error instanceof NfsError && error.opIndex !== undefined && !failedHere) {
    // The COMPOUND stopped at another file before this one's ops ran.
    return await openAndRead(m, request);
  }
  if (
    error instanceof NfsError && failedHere && anyOpened &&
    error.status !== S.NFS4ERR_REP_TOO_BIG_TO_CACHE && actionForStatus(error.status).kind !== "fail"
  ) {
    // This file's PUTFH or OPEN met a status the manager would have waited
    // out or recovered from (DELAY, GRACE, ...), but a file before it was
    // opened, so the COMPOUND's status came back here untreated. Nothing of
    // this file was done: it goes again on its own, through the table.
    return await openAndRead(m, request);
  }
  if (error instanceof NfsError && error.status === S.NFS4ERR_REP_TOO_BIG_TO_CACHE) {
    // Refused before anything was done: this file the two-COMPOUND way.
    const opened = await openFile(m, { ...openRequest(request), attrs: attrsOf(request) });
    return await readAfterOpen(m, request, opened.state, opened.attrs);
  }
  // Nothing opened: the usual answer, with the user's path.
  throw error instanceof NfsError ? error.withPath(request.path) : error;
}

/**
 * NFS4ERR_REP_TOO_BIG_TO_CACHE (RFC 8881 §15.1.10.7): the server keeps less
 * of a reply than its CREATE_SESSION said, or counts differently. Later
 * READs of this shape ask for half as much (none below the minimum: the
 * shape is then not used).
 */
function tooBigToCache(m: StateManager, count: number, path: string): void {
  const s = stateOf(m);
  // Half of what the refused COMPOUND's READs asked for in all.
  const half = Math.floor(count / 2);
  if (s.readLimit !== undefined && s.readLimit <= half) return;
  s.readLimit = half;
  m.tracer.emit(
    "open",
    "reply too big to cache",
    `${path}: READ of ${count} bytes with OPEN; ${
      half >= MIN_ONE_COMPOUND_READ ? `asking for ${half} from now on` : "separate COMPOUNDs now"
    }`,
  );
}

async function afterPartFailed(
  m: StateManager,
  request: SmallReadRequest,
  owner: OpenOwner,
  seen: Seen,
  error: unknown,
): Promise<SmallRead> {
  if (!seen.fh) {
    // GETFH failed (or its reply could not be read): no handle to CLOSE by.
    // The open lapses with the client ID (DESTROY_CLIENTID at exit) or lease.
    m.tracer.emit("error", "OPEN without a file handle", `${request.path}: left to the lease`);
    throw error instanceof NfsError ? error.withPath(request.path) : error;
  }
  const state = recordOpen(m, owner, openRequest(request), seen.open!, seen.fh);
  try {
    if (!(error instanceof NfsError)) throw error;
    if (seen.read && seen.attrs) {
      // READ ran; CLOSE failed. Close it as any CLOSE (its own table of
      // statuses for a state already gone).
      await closeFile(m, state);
      return await afterClosedRead(m, request, seen.attrs, seen.read, seen.count!);
    }
    if (error.op === "READ" && error.status === S.NFS4ERR_BAD_STATEID) {
      const s = stateOf(m);
      if (!s.currentStateidRefused) {
        s.currentStateidRefused = true;
        m.tracer.emit(
          "open",
          "current stateid refused",
          `READ -> NFS4ERR_BAD_STATEID after OPEN in one COMPOUND (${request.path}); ` +
            "OPEN, then READ+CLOSE, from now on (RFC 8881 §16.2.3.1.2)",
        );
      }
    }
    const attrs = seen.attrs ?? await attributesOf(m, state, request);
    return await readAfterOpen(m, request, state, attrs);
  } catch (e) {
    if (!state.closed) await closeFile(m, state).catch(() => undefined);
    throw e instanceof NfsError ? e.withPath(request.path) : e;
  }
}

async function attributesOf(
  m: StateManager,
  state: OpenState,
  request: SmallReadRequest,
): Promise<DecodedFattr> {
  const [, attrs] = await m.run(() => [putfh(state.fh), getattr(attrsOf(request))] as const, {
    states: [state],
  });
  return attrs;
}

/**
 * The two-COMPOUND shape's second half: the file is open (`state`, with
 * `attrs` from its OPEN); when it fits `request.count`, READ and CLOSE in
 * one COMPOUND.
 */
async function readAfterOpen(
  m: StateManager,
  request: SmallReadRequest,
  state: OpenState,
  attrs: DecodedFattr,
): Promise<SmallRead> {
  const size = attrs.attrs.size;
  // READ+CLOSE changes state: on 4.1 its reply is cached, so its READ is
  // bounded as the one-COMPOUND shape's.
  const count = cachedReadCount(m, request.count);
  if (size === undefined || size > BigInt(count)) {
    return { attrs, data: EMPTY, eof: false, state };
  }
  let got;
  try {
    got = await readThenClose(m, state, count);
  } catch (e) {
    if (
      e instanceof NfsError && e.status === S.NFS4ERR_REP_TOO_BIG_TO_CACHE && !state.closed &&
      state.bad === undefined
    ) {
      // Nothing was done but the OPEN: read it the usual way (plain READs
      // are not cached), and ask for less next time.
      tooBigToCache(m, count, request.path);
      return { attrs, data: EMPTY, eof: false, state };
    }
    // The state is still open: READ failed (the COMPOUND stopped there, its
    // CLOSE never ran), or CLOSE did. Either way it is closed as any open.
    if (!state.closed) await closeFile(m, state).catch(() => undefined);
    if (e instanceof NfsError && e.op === "CLOSE") {
      // The READ's data went with the failed reply: open again, from byte 0.
      return await openAgain(m, request, attrs, EMPTY);
    }
    if (
      e instanceof NfsError && e.op === "READ" &&
      (e.status === S.NFS4ERR_BAD_STATEID || e.status === S.NFS4ERR_OLD_STATEID)
    ) {
      // The state is gone (see files.ts readThenClose: perhaps closed by a
      // first run of this very COMPOUND): a new OPEN, read from byte 0.
      return await openAgain(m, request, attrs, EMPTY);
    }
    throw e;
  }
  // READ alone (the state has other users): a plain READ, never replayed
  // from a reply cache. Its end of file is taken only at the size the
  // GETATTR gave: one before it is left to the open's later READs, which
  // hold it to that size (lib/client/read_progress.ts EndOfFileCheck; RFC
  // 7530 §16.23.4, RFC 8881 §18.22.4: eof only at the end of the file).
  if (!got.closed) {
    const whole = size === undefined || BigInt(got.data.length) >= size;
    return { attrs, data: got.data, eof: got.eof && whole, state };
  }
  return await afterClosedRead(m, request, attrs, got, count);
}

/**
 * What a READ answered in a COMPOUND that also CLOSEd the file is worth.
 * That COMPOUND changes state, so after a lost reply its resend is answered
 * from the server's reply cache (RFC 8881 §2.10.6.1; RFC 7530 §9.1.9), and
 * a cache need not keep a READ's data: Ganesha 4.3 replays such a READ with
 * no data at all, and its eof. So the READ is taken at its word only when it
 * agrees with the file's size from the GETATTR before it: eof with exactly
 * that many bytes (the whole file), or no eof with a full `count` bytes of a
 * file larger than that (its first bytes, kept if the file is unchanged when
 * opened again). Anything else (a replay, a file that changed in between, a
 * short READ) is read again through a new OPEN, from byte 0.
 */
async function afterClosedRead(
  m: StateManager,
  request: SmallReadRequest,
  attrs: DecodedFattr,
  got: ReadResult,
  count: number,
): Promise<SmallRead> {
  const size = attrs.attrs.size;
  const length = BigInt(got.data.length);
  if (got.eof && size !== undefined && length === size) {
    return { attrs, data: got.data, eof: true, state: undefined };
  }
  const prefix = !got.eof && got.data.length === count && size !== undefined && size > length;
  if (!prefix) {
    m.tracer.emit(
      "open",
      "READ with CLOSE not taken",
      `${request.path}: ${got.data.length} bytes${got.eof ? ", eof" : ""} of a file of ${
        size ?? "unknown"
      } bytes; opened again and read from byte 0`,
    );
  }
  return await openAgain(m, request, attrs, prefix ? got.data : EMPTY);
}

/**
 * The file was closed after its first bytes were read, and there is more:
 * a new OPEN. The bytes stand only if the new open's fileid and change
 * attribute are those of the first (the same file, unchanged in between).
 */
async function openAgain(
  m: StateManager,
  request: SmallReadRequest,
  first: DecodedFattr,
  data: Uint8Array,
): Promise<SmallRead> {
  const opened = await openFile(m, { ...openRequest(request), attrs: attrsOf(request) });
  const now = opened.attrs.attrs;
  const before = first.attrs;
  const same = before.fileid !== undefined && before.change !== undefined &&
    now.fileid === before.fileid && now.change === before.change;
  m.tracer.emit(
    "open",
    "OPEN again (larger than one READ)",
    `${request.path}: ${
      same ? `unchanged, reading on from byte ${data.length}` : "changed meanwhile, from byte 0"
    }`,
  );
  return { attrs: opened.attrs, data: same ? data : EMPTY, eof: false, state: opened.state };
}

// ------------------------------------------------------------ owners

/** An open owner no other OPEN is using (see the module comment). */
function takeOwner(m: StateManager): OpenOwner {
  const free = stateOf(m).freeOwners;
  const uid = m.identity.uid;
  for (let i = free.length - 1; i >= 0; i--) {
    const owner = free[i]!;
    if (owner.retired || owner.uid !== uid) {
      free.splice(i, 1);
      continue;
    }
    free.splice(i, 1);
    return owner;
  }
  const owner = new OpenOwner(uid, `u${uid}-small`);
  m.tracer.emit("owner", `new ${owner.label}`, `uid ${uid}, for OPEN+READ+CLOSE`);
  return owner;
}

/** Back to the pool once it holds nothing (a state it holds keeps it out of other use). */
function giveBackOwner(m: StateManager, owner: OpenOwner): void {
  if (owner.retired) return;
  for (const o of m.opens) if (o.owner === owner) return;
  stateOf(m).freeOwners.push(owner);
}
