/**
 * The state manager's protocol steps (the kernel's nfs4proc.c recovery ops
 * and nfs4state.c reclaim): establishing the client ID, checking the lease,
 * sessions, reboot and no-grace reclaim, stateid tests, and the orderly
 * release of everything at exit. Called only by manager.ts.
 * @module
 */

import type { CompoundReply, Nfs4Op, OpList } from "../nfs4/compound.ts";
import { firstFailure } from "../nfs4/compound.ts";
import { Attr, type DecodedFattr, type FileAttributes } from "../nfs4/attrs.ts";
import {
  ChannelDirFromClient,
  CreateSessionFlags,
  DelegationType,
  ExchangeIdFlags,
  LockType,
  NFS4_UINT64_MAX,
  OpenClaimType,
  OpenResultFlags,
  ShareAccess,
  StateProtectHow,
} from "../nfs4/constants.ts";
import { NfsError } from "../nfs4/errors.ts";
import { Nfs4Status as S, statusName } from "../nfs4/status.ts";
import {
  bytesEqual,
  type FileHandle,
  formatStateid,
  hex,
  newerStateid,
  sameStateOther,
  type Stateid,
} from "../nfs4/types.ts";
import { close } from "../nfs4/ops/close.ts";
import { getattr } from "../nfs4/ops/getattr.ts";
import { lock, type LockDenied } from "../nfs4/ops/lock.ts";
import { lockt } from "../nfs4/ops/lockt.ts";
import { locku } from "../nfs4/ops/locku.ts";
import { open, type OpenClaim, type OpenResult } from "../nfs4/ops/open.ts";
import { openConfirm } from "../nfs4/ops/open_confirm.ts";
import { openDowngrade } from "../nfs4/ops/open_downgrade.ts";
import { getfh } from "../nfs4/ops/getfh.ts";
import { putfh } from "../nfs4/ops/putfh.ts";
import { putrootfh } from "../nfs4/ops/putrootfh.ts";
import { renew } from "../nfs4/ops/renew.ts";
import { setclientid, type SetclientidResult } from "../nfs4/ops/setclientid.ts";
import { setclientidConfirm } from "../nfs4/ops/setclientid_confirm.ts";
import { releaseLockowner } from "../nfs4/ops/release_lockowner.ts";
import { sequence, type SequenceResult } from "../nfs4/ops/sequence.ts";
import { exchangeId, type ExchangeIdResult } from "../nfs4/ops/exchange_id.ts";
import { createSession, type CreateSessionResult } from "../nfs4/ops/create_session.ts";
import { destroySession as destroySessionOp } from "../nfs4/ops/destroy_session.ts";
import { destroyClientid } from "../nfs4/ops/destroy_clientid.ts";
import { reclaimComplete } from "../nfs4/ops/reclaim_complete.ts";
import {
  bindConnToSession,
  type BindConnToSessionResult,
} from "../nfs4/ops/bind_conn_to_session.ts";
import { testStateid } from "../nfs4/ops/test_stateid.ts";
import { freeStateid } from "../nfs4/ops/free_stateid.ts";
import { delegreturn } from "../nfs4/ops/delegreturn.ts";
import type { ChannelAttributes, Session } from "./client.ts";
import type { RunOptions, StateManager } from "./manager.ts";
import { ms, SessionGrantError, showOpaque, StateProtectionError } from "./manager.ts";
import { destroySessionOutcome, FREE_STATEID_FINAL, leaseErrorFlags } from "./error_table.ts";
import {
  type Delegation,
  formatRange,
  formatShare,
  type LockRange,
  type LockState,
  type OpenState,
  type ShareModes,
  StateDroppedError,
} from "./open_state.ts";
import { holdsRange, rangesOverlap, recordLocked, recordUnlocked } from "./lock_ranges.ts";
import { type Slot, SlotTable } from "./slot_table.ts";
import type { LockOwner } from "./owners.ts";
import { BACK_CHANNEL_LIMITS, CALLBACK_PROGRAM } from "./callback.ts";
import { RpcServer } from "../rpc/server.ts";

/**
 * The failure in a reply: its first failed op, or the COMPOUND status when
 * the server answered without running any op (NFS4ERR_MINOR_VERS_MISMATCH
 * comes with an empty result array, RFC 7530 §15.2).
 */
function failureOf(reply: CompoundReply): { status: number; name: string } | undefined {
  return firstFailure(reply) ??
    (reply.status !== S.NFS4_OK ? { status: reply.status, name: "COMPOUND" } : undefined);
}

/** What the manager reads from a SEQUENCE result. */
export type SequenceResultLike = Pick<
  SequenceResult,
  "highestSlotid" | "targetHighestSlotid" | "statusFlags"
>;

/**
 * 4.0 ops that carry a clientid or stateid and so renew the lease (RFC 7530
 * §9.5). READ, WRITE and SETATTR renew only with a stateid of ours: "this
 * does not include the special stateids" (anonymous, READ bypass), which
 * name no client (see SPECIAL_STATEID_OPS; the kernel renews after a
 * SETATTR only when it used an open's stateid, _nfs4_do_setattr).
 */
export const RENEWING_OPS: ReadonlySet<string> = new Set([
  "RENEW",
  "OPEN",
  "OPEN_CONFIRM",
  "OPEN_DOWNGRADE",
  "CLOSE",
  "LOCK",
  "LOCKU",
  "LOCKT",
  "READ",
  "WRITE",
  "SETATTR",
  "DELEGRETURN",
]);

/** RENEWING_OPS that may be sent with a special stateid, which renews nothing (RFC 7530 §9.5). */
export const SPECIAL_STATEID_OPS: ReadonlySet<string> = new Set(["READ", "WRITE", "SETATTR"]);

/**
 * OPEN's share_access as sent: without a callback channel (callbacks off,
 * or the back channel down and BIND_CONN_TO_SESSION unable to bring it
 * back: StateManager.backChannelDown) a 4.1 client says it wants no
 * delegation (OPEN4_SHARE_ACCESS_WANT_NO_DELEG, RFC 8881 §18.16.3), since
 * one it can never be asked to return would block other clients until its
 * lease ends. 4.0 has no way to say so; the 4.0 client
 * announces an unusable callback address instead (RFC 7530 §10.2.1).
 */
export function shareAccessWire(m: StateManager, access: number): number {
  if (!m.sessions || (m.callbackOptions.enabled && !m.backChannelDown)) return access;
  return access | ShareAccess.OPEN4_SHARE_ACCESS_WANT_NO_DELEG;
}

/** The SEQUENCE that opens every 4.1 COMPOUND (RFC 8881 §18.46). */
export function sequenceOp(
  session: Session,
  slot: Slot,
  cacheThis: boolean,
): Nfs4Op<SequenceResult> {
  return sequence({
    sessionid: session.id,
    sequenceid: slot.seqid,
    slotid: slot.id,
    highestSlotid: Math.max(session.slots.highestUsed, slot.id),
    cachethis: cacheThis,
  });
}

/**
 * 4.0: the callback listener the server connects to (RFC 7530 §16.33.1). It
 * listens on the address the server sees us at on the fore connection (or
 * the one configured), so a server that can reach us there can call back.
 * Returns the cb_location to announce; without callbacks an address the
 * server cannot use, and the trace says delegations are off.
 */
async function startCallbackListener(m: StateManager): Promise<{ netid: string; addr: string }> {
  const none = { netid: "tcp", addr: "0.0.0.0.0.0" };
  if (!m.callbackOptions.enabled) {
    m.tracer.emit("cb", "callbacks off", "running without delegations");
    return none;
  }
  if (!m.callbackServer) {
    const local = m.channel.localAddress?.();
    const listen = m.callbackOptions.address ?? (local ? { host: local.host, port: 0 } : undefined);
    if (!listen) {
      m.tracer.emit("cb", "no callback address", "running without delegations");
      return none;
    }
    const server = new RpcServer(m.tap ? { tap: m.tap } : {});
    server.onCall(CALLBACK_PROGRAM, m.callbacks.handler);
    try {
      await server.listen(listen.host, listen.port);
    } catch (e) {
      m.tracer.emit(
        "cb",
        "callback listener failed",
        `${(e as Error).message}; running without delegations`,
      );
      return none;
    }
    server.addEventListener("connect", (e) => {
      m.tracer.emit(
        "cb",
        "server connected to the callback listener",
        (e as CustomEvent).detail.remote,
      );
    });
    m.callbackServer = server;
    m.tracer.emit(
      "cb",
      "callback listener",
      `${server.address!.host}:${server.address!.port} program 0x${CALLBACK_PROGRAM.toString(16)}`,
    );
  }
  const { host, port } = m.callbackServer.address!;
  return universalAddress(host, port);
}

/** netaddr4 in universal address form (RFC 5665 §5.2.3.4): `h1.h2.h3.h4.p1.p2`. */
export function universalAddress(host: string, port: number): { netid: string; addr: string } {
  const v6 = host.includes(":");
  return { netid: v6 ? "tcp6" : "tcp", addr: `${host}.${port >> 8}.${port & 0xff}` };
}

// ----------------------------------------------------------- client ID

/** LEASE_EXPIRED: SETCLIENTID + CONFIRM (4.0) or EXCHANGE_ID + CREATE_SESSION (4.1). */
export async function establishClientId(m: StateManager): Promise<void> {
  if (m.minorVersion === 0) return await setClientId40(m);
  return await exchangeId41(m);
}

/**
 * Sends the client-ID request `op` builds, with a new uniquifier after each
 * NFS4ERR_CLID_INUSE (RFC 7530 §16.33.5, RFC 8881 §18.35.4; the kernel's
 * cl_id_uniquifier), and returns its successful result.
 */
async function establishWithUniquifier<R>(
  m: StateManager,
  name: "SETCLIENTID" | "EXCHANGE_ID",
  send: () => Promise<CompoundReply>,
): Promise<R> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const reply = await send();
    const failed = failureOf(reply);
    if (failed?.status === S.NFS4ERR_CLID_INUSE) {
      m.client.uniquifier++;
      m.tracer.emit("clid", `${name} -> NFS4ERR_CLID_INUSE`, `retrying as ${m.client.wireOwnerId}`);
      continue;
    }
    if (failed) throw new NfsError(failed.status, failed.name);
    return reply.outcomes[0]!.value as R;
  }
  throw new NfsError(S.NFS4ERR_CLID_INUSE, name);
}

async function setClientId40(m: StateManager): Promise<void> {
  const c = m.client;
  const callbackLocation = await startCallbackListener(m);
  const result = await establishWithUniquifier<SetclientidResult>(m, "SETCLIENTID", () =>
    m.send([
      setclientid({
        client: { verifier: c.verifier, id: new TextEncoder().encode(c.wireOwnerId) },
        callback: { program: CALLBACK_PROGRAM, location: callbackLocation },
        callbackIdent: m.callbacks.ident,
      }),
    ]));
  c.clientId = result.clientid;
  c.confirmVerifier = result.confirm;
  m.tracer.emit("clid", "SETCLIENTID ok", `clientid ${c.clientIdText} owner ${c.wireOwnerId}`, {
    clientid: result.clientid,
  });
  const confirm = await m.send([
    setclientidConfirm({ clientid: result.clientid, confirm: result.confirm }),
  ]);
  const bad = failureOf(confirm);
  if (bad) throw new NfsError(bad.status, bad.name);
  m.noteRenewal(m.clock.now());
  m.tracer.emit("clid", "SETCLIENTID_CONFIRM ok", `clientid ${c.clientIdText} confirmed`);
}

/** The eir_flags bits RFC 8881 §18.35.3 defines for a reply. */
const EXCHGID_REPLY_BITS = ExchangeIdFlags.EXCHGID4_FLAG_SUPP_MOVED_REFER |
  ExchangeIdFlags.EXCHGID4_FLAG_SUPP_MOVED_MIGR |
  ExchangeIdFlags.EXCHGID4_FLAG_BIND_PRINC_STATEID |
  ExchangeIdFlags.EXCHGID4_FLAG_MASK_PNFS |
  ExchangeIdFlags.EXCHGID4_FLAG_CONFIRMED_R;

/**
 * What of EXCHANGE_ID's answer (RFC 8881 §18.35.3) this client cannot take
 * as it is, checked before anything of it is used.
 *
 * State protection: it asks for SP4_NONE, which the server "MUST NOT
 * enforce" then; an answer of SP4_MACH_CRED or SP4_SSV says the server
 * would refuse state operations not sent with the machine credential or
 * the SSV (RPCSEC_GSS), which this client cannot send (AUTH_SYS only):
 * refused with {@linkcode StateProtectionError}, before the client ID is
 * used or confirmed, rather than failing later at every OPEN.
 *
 * eir_flags out of spec are tolerated and traced (`EXCHANGE_ID flags out
 * of spec`): none of them changes what this client does (it uses no pNFS
 * and updates no confirmed record). The Linux client refuses such an
 * answer (nfs4_check_cl_exchange_flags, -NFS4ERR_INVAL), and so connects
 * to no such server at all; this one keeps working with it and says why
 * it is odd:
 * - no pNFS role (USE_NON_PNFS, USE_PNFS_MDS, USE_PNFS_DS): "The server
 *   MUST set one of the acceptable combinations" (§18.35.3, the table of
 *   §13.1), and USE_NON_PNFS with USE_PNFS_MDS is not one of them;
 * - EXCHGID4_FLAG_UPD_CONFIRMED_REC_A, a request's bit, "always off in
 *   eir_flags" (§18.35.3);
 * - bits the RFC does not define for a reply (on 4.2,
 *   EXCHGID4_FLAG_SUPP_FENCE_OPS is defined too, by RFC 7862).
 */
function checkExchangeIdReply(m: StateManager, result: ExchangeIdResult): void {
  const how = result.stateProtect.how;
  if (how !== StateProtectHow.SP4_NONE) {
    const name = Object.entries(StateProtectHow).find(([, v]) => v === how)?.[0] ?? `${how}`;
    m.tracer.emit(
      "clid",
      "EXCHANGE_ID refused",
      `spr_how ${name}: asked for SP4_NONE, which the server must not enforce ` +
        "(RFC 8881 §18.35.3); machine credential or SSV protection needs RPCSEC_GSS",
    );
    throw new StateProtectionError(m.client.server, name);
  }
  const F = ExchangeIdFlags;
  const flags = result.flags >>> 0;
  const odd: string[] = [];
  const roles = flags & F.EXCHGID4_FLAG_MASK_PNFS;
  if (roles === 0) {
    odd.push("no pNFS role (USE_NON_PNFS, USE_PNFS_MDS or USE_PNFS_DS; RFC 8881 §13.1)");
  } else if (
    (roles & F.EXCHGID4_FLAG_USE_NON_PNFS) && (roles & F.EXCHGID4_FLAG_USE_PNFS_MDS)
  ) {
    odd.push("USE_NON_PNFS with USE_PNFS_MDS, not an acceptable combination (RFC 8881 §13.1)");
  }
  if (flags & F.EXCHGID4_FLAG_UPD_CONFIRMED_REC_A) {
    odd.push("UPD_CONFIRMED_REC_A, a request's bit, always off in a reply (RFC 8881 §18.35.3)");
  }
  const defined = EXCHGID_REPLY_BITS | F.EXCHGID4_FLAG_UPD_CONFIRMED_REC_A |
    (m.minorVersion >= 2 ? F.EXCHGID4_FLAG_SUPP_FENCE_OPS : 0);
  const unknown = (flags & ~defined) >>> 0;
  if (unknown !== 0) {
    odd.push(`undefined bits 0x${unknown.toString(16).padStart(8, "0")} (RFC 8881 §18.35.3)`);
  }
  if (odd.length > 0) {
    m.tracer.emit(
      "clid",
      "EXCHANGE_ID flags out of spec",
      `eir_flags 0x${flags.toString(16).padStart(8, "0")}: ${odd.join("; ")}; ` +
        "tolerated (no pNFS used, no record updated)",
    );
  }
}

async function exchangeId41(m: StateManager): Promise<void> {
  const c = m.client;
  /**
   * The session of the client ID before, when it was not destroyed (a
   * lease found expired, LEASE_EXPIRED without a session reset).
   */
  let former = c.clientId !== undefined ? c.session : undefined;
  const formerClientId = c.clientId;
  // CREATE_SESSION -> STALE_CLIENTID: the record went away between the two
  // (RFC 8881 §18.36.4): exchange again.
  for (let attempt = 0; attempt < 8; attempt++) {
    c.session = undefined;
    const result = await establishWithUniquifier<ExchangeIdResult>(
      m,
      "EXCHANGE_ID",
      () =>
        m.sendSessionless([
          exchangeId({
            clientOwner: {
              verifier: c.verifier,
              ownerid: new TextEncoder().encode(c.wireOwnerId),
            },
            // Referrals are understood (NFS4ERR_MOVED is reported with
            // the path); migration is not followed, so not claimed (RFC
            // 8881 §18.35.3: the flags are what the client supports).
            flags: ExchangeIdFlags.EXCHGID4_FLAG_SUPP_MOVED_REFER,
            stateProtect: { how: StateProtectHow.SP4_NONE },
            implId: {
              domain: "nfs4-ts.invalid",
              name: "nfs4 (TypeScript)",
              date: { seconds: 0n, nseconds: 0 },
            },
          }),
        ]),
    );
    checkExchangeIdReply(m, result);
    if (former !== undefined && result.clientid === formerClientId) {
      // The server kept the client ID (its confirmed record, RFC 8881
      // §18.35.4: Ganesha 4.3 does, for a lease it answered
      // NFS4ERR_EXPIRED but has not purged), and with it, perhaps, its
      // session: destroyed at exit with the sessions a reset left, before
      // DESTROY_CLIENTID, which a session left makes NFS4ERR_CLIENTID_BUSY
      // (§18.50.3).
      rememberLeft(m, former.id);
      former = undefined;
    }
    c.clientId = result.clientid;
    const unanswered = c.createSessionUnanswered;
    const replay = unanswered !== undefined && unanswered.clientId === result.clientid;
    if (replay) {
      // A CREATE_SESSION of this client ID got no answer: the server may
      // have made its session, and then says the next csa_sequence (Ganesha
      // and knfsd answer eir_sequenceid from the client record, advanced
      // by the CREATE_SESSION that ran). A CREATE_SESSION with that one
      // would make a second session and leave the first on the server, no
      // DESTROY_SESSION able to name it, DESTROY_CLIENTID refused
      // NFS4ERR_CLIENTID_BUSY while it stands (RFC 8881 §18.50.3). The
      // same csa_sequence again is answered from the server's replay cache
      // with the session it made, or runs now if it made none (RFC 8881
      // §18.36.4).
      c.createSessionSeq = unanswered.sequence;
      m.tracer.emit(
        "sess",
        "CREATE_SESSION sent again",
        `csa_sequence ${unanswered.sequence} (EXCHANGE_ID said ${result.sequenceid}): ` +
          "the one sent before got no answer, and the server may have made its session",
      );
    } else {
      // Another client ID: a session the server may have made for the one
      // before is gone with it (or left to its lease, releaseAll).
      c.createSessionSeq = result.sequenceid;
    }
    const formerScope = c.exchangeId?.serverScope;
    if (formerScope !== undefined && hex(formerScope) !== hex(result.serverScope)) {
      // Another server scope answers at this address (a failover to a
      // server that does not share state, a re-addressed host): state may
      // be reclaimed only from the server that granted it (RFC 8881
      // §2.10.4, §8.4.2.1), and this one's grace period is not ours to
      // reclaim in. As the kernel on NFS4CLNT_SERVER_SCOPE_MISMATCH
      // (nfs41_same_server_scope, nfs4_reclaim_lease): recover without
      // grace; RECLAIM_COMPLETE is still sent first (reclaimNoGrace).
      m.tracer.emit(
        "clid",
        "server scope changed",
        `${showOpaque(formerScope)} before, ${showOpaque(result.serverScope)} now: ` +
          "not the server that granted our state; no reclaim in grace",
      );
      const why = `EXCHANGE_ID: server scope ${showOpaque(result.serverScope)}, not ${
        showOpaque(formerScope)
      }`;
      m.markAllForReclaim("nograce", why);
      if (m.hasFlag("RECLAIM_REBOOT")) {
        // Set by the reboot that led here: it reclaims nothing now, and
        // only ends the reclaims with RECLAIM_COMPLETE (RFC 8881 §18.51.3).
        m.clearFlag("RECLAIM_REBOOT", "server scope changed");
        m.setFlag("RECLAIM_REBOOT", `${why}: nothing to reclaim in grace, RECLAIM_COMPLETE only`);
      }
    }
    // RFC 8881 §2.10.5: server owners compare only within one server scope.
    c.serverOwner = `${hex(result.serverOwner.majorId)}/${hex(result.serverScope)}`;
    c.exchangeId = result;
    m.tracer.emit(
      "clid",
      "EXCHANGE_ID ok",
      `clientid ${c.clientIdText} owner ${c.wireOwnerId}${
        result.flags & ExchangeIdFlags.EXCHGID4_FLAG_CONFIRMED_R ? " (confirmed record)" : ""
      }`,
      { clientid: result.clientid },
    );
    // An interrupt that came while EXCHANGE_ID was answered: no session is
    // made only to be destroyed (the release destroys the client ID).
    m.throwIfInterrupted();
    let status = await createSessionNow(m);
    if (replay && status === S.NFS4ERR_SEQ_MISORDERED) {
      // Neither the one it caches nor the one it expects: the server has
      // moved past that csa_sequence (its answer to it is gone), so it
      // made no session with it that it still knows by it. Its own next.
      m.tracer.emit(
        "sess",
        "CREATE_SESSION sent again",
        `csa_sequence ${c.createSessionSeq} not the server's (NFS4ERR_SEQ_MISORDERED); again with ${result.sequenceid}`,
      );
      c.createSessionSeq = result.sequenceid;
      status = await createSessionNow(m);
    }
    if (status === S.NFS4ERR_STALE_CLIENTID) continue;
    if (status !== S.NFS4_OK) throw new NfsError(status, "CREATE_SESSION");
    return;
  }
  throw new NfsError(S.NFS4ERR_STALE_CLIENTID, "CREATE_SESSION");
}

/** The trace's words for the slots granted and used. */
function slotsText(granted: number, used: number, asked: number): string {
  return granted === used
    ? `${used} slots (asked ${asked})`
    : `${used} slots (asked ${asked}, granted ${granted})`;
}

/**
 * The largest READ the client asks for, whatever the server allows (its
 * maxread, and on 4.1 the session's largest reply, which CREATE_SESSION
 * asks to hold it); a server that offers less gets READs of what it offers.
 * What a READ costs the client hardly depends on its size, so 2 MiB READs
 * take 15-20% less of the client's CPU (1 GiB `cat` from Ganesha on tmpfs,
 * the binary: 0.29 → 0.24 s, and again 0.286 → 0.237 s in 25 interleaved
 * runs). What Ganesha spends on them depends on its past: on one that had
 * run for an hour, the same as on READs of 1 MiB (0.41 → 0.39 CPU-s per
 * GiB); on a fresh one taking turns with clients reading 1 MiB at a time
 * (libnfs), 20-40% more (0.47-0.55 → 0.66-0.67 CPU-s, the read 5-20%
 * slower), with page faults and unmapping in its profile, as when a READ's
 * buffer is mapped afresh each time. A client that makes the server work
 * harder to spare itself is not what an operator pointing it at a
 * production server wants, and Linux's nfsd has long offered 1 MiB at most:
 * READs stay at 1 MiB. (Measured twice, sessions 15 and 18; `deno task
 * bench` prints the server's CPU beside each read.)
 */
export const LARGEST_READ = 1024 * 1024;
/** The largest WRITE the client sends, whatever the server allows. */
export const LARGEST_WRITE = 1024 * 1024;
/** Room for a COMPOUND's other operations around a READ's data or a WRITE's. */
const COMPOUND_ROOM = 8192;

/**
 * The least of the fore channel this client can work in (RFC 8881
 * §18.36.3 lets a server grant less than was asked for). Operations: the
 * largest COMPOUND it cannot split (SEQUENCE, PUTFH, OPEN, GETFH, GETATTR
 * and the SETATTR, SAVEFH/RESTOREFH or CLOSE beside them) fits in 8 (the
 * Linux client likewise refuses a grant below the operations it asked for,
 * nfs4_verify_fore_channel_attrs); walks and batches of small files are cut
 * to the grant. Sizes: a READ or WRITE of 4 KiB, the smallest one made, with
 * the COMPOUND around it.
 */
export const LEAST_FORE_CHANNEL = {
  maxOperations: 8,
  maxRequestSize: 8192,
  maxResponseSize: 8192,
} as const;

/** What in a granted fore channel is below {@linkcode LEAST_FORE_CHANNEL}, as words for the error. */
export function foreChannelShortfalls(fore: ChannelAttributes): string[] {
  const short: string[] = [];
  const least = LEAST_FORE_CHANNEL;
  if (fore.maxOperations < least.maxOperations) {
    short.push(
      `${fore.maxOperations} operations per COMPOUND (ca_maxoperations; nfs4 needs ${least.maxOperations})`,
    );
  }
  if (fore.maxRequestSize < least.maxRequestSize) {
    short.push(
      `requests of ${fore.maxRequestSize} bytes (ca_maxrequestsize; nfs4 needs ${least.maxRequestSize})`,
    );
  }
  if (fore.maxResponseSize < least.maxResponseSize) {
    short.push(
      `replies of ${fore.maxResponseSize} bytes (ca_maxresponsesize; nfs4 needs ${least.maxResponseSize})`,
    );
  }
  return short;
}

/** What we ask for in CREATE_SESSION; the server answers with what it grants. */
function wantedForeChannel(m: StateManager): ChannelAttributes {
  return {
    headerPadSize: 0,
    maxRequestSize: LARGEST_WRITE + COMPOUND_ROOM,
    maxResponseSize: LARGEST_READ + COMPOUND_ROOM,
    maxResponseSizeCached: 64 * 1024,
    // Room for several small files' OPEN..CLOSE in one COMPOUND (small_file.ts).
    maxOperations: 64,
    maxRequests: m.wantedSlots,
  };
}

/**
 * What we ask for of the back channel: the limits the callback service holds
 * callbacks to (BACK_CHANNEL_LIMITS), so the two cannot drift apart.
 */
const BACK_CHANNEL: ChannelAttributes = {
  headerPadSize: 0,
  maxRequestSize: BACK_CHANNEL_LIMITS.maxRequestSize,
  maxResponseSize: 16 * 1024,
  maxResponseSizeCached: 0,
  maxOperations: BACK_CHANNEL_LIMITS.maxOperations,
  maxRequests: BACK_CHANNEL_LIMITS.maxRequests,
};

async function createSessionNow(m: StateManager): Promise<number> {
  const c = m.client;
  // RFC 8881 §18.36: the backchannel rides on this connection when asked for.
  const backChannel = m.callbackOptions.enabled && m.channel.serveCallbacks !== undefined;
  if (backChannel) m.channel.serveCallbacks!(CALLBACK_PROGRAM, m.callbacks.handler);
  // Unanswered until an answer comes (ClientRecord.createSessionUnanswered):
  // a reply lost for good, an interrupt that stops it in flight, or
  // NFS4ERR_DELAY (the server still runs it, RFC 8881 §18.36.4) leave it so.
  c.createSessionUnanswered = { clientId: c.clientId!, sequence: c.createSessionSeq };
  const reply = await m.sendSessionless([
    createSession({
      clientid: c.clientId!,
      sequence: c.createSessionSeq,
      flags: backChannel ? CreateSessionFlags.CREATE_SESSION4_FLAG_CONN_BACK_CHAN : 0,
      foreChannel: wantedForeChannel(m),
      backChannel: BACK_CHANNEL,
      cbProgram: CALLBACK_PROGRAM,
      secParms: [{ flavor: 0 }],
    }),
  ]);
  const failed = failureOf(reply);
  if (failed?.status !== S.NFS4ERR_DELAY) c.createSessionUnanswered = undefined;
  if (failed) {
    // Its own line, as RENEW's and DESTROY_SESSION's failures have: what
    // recovery does next (a new client ID after NFS4ERR_STALE_CLIENTID)
    // follows from it.
    m.tracer.emit(
      "sess",
      `CREATE_SESSION -> ${statusName(failed.status)}`,
      `clientid ${c.clientIdText}, csa_sequence ${c.createSessionSeq}`,
      { clientid: c.clientId!, status: statusName(failed.status) },
    );
    return failed.status;
  }
  const result = reply.outcomes[0]!.value as CreateSessionResult;
  c.createSessionSeq = (c.createSessionSeq + 1) >>> 0;
  const fore = result.foreChannel;
  // RFC 8881 §18.36.3 lets the server change the fore channel's
  // ca_maxrequests, and SEQUENCE replies may raise the slots later
  // (§18.46.3). More slots than asked for would only be idle (requests come
  // no faster than the slots asked for), and a broken or hostile grant (up
  // to 2^32 - 1) must not size the table; the kernel caps both too
  // (nfs4_verify_fore_channel_attrs, NFS4_MAX_SLOT_TABLE).
  const slotCount = Math.max(1, Math.min(fore.maxRequests, m.wantedSlots));
  const slots = new SlotTable(slotCount, (change) => {
    m.tracer.emit("sess", `slot table ${change.from} -> ${change.to}`, change.reason);
  }, m.wantedSlots);
  c.session = {
    id: result.sessionid.slice(),
    fore,
    back: result.backChannel,
    slots,
    flags: result.flags,
  };
  m.callbacks.resetSlot();
  if (backChannel && !(result.flags & CreateSessionFlags.CREATE_SESSION4_FLAG_CONN_BACK_CHAN)) {
    m.tracer.emit("cb", "no backchannel granted", "running without delegations");
  }
  m.noteRenewal(m.clock.now());
  m.tracer.emit(
    "sess",
    "CREATE_SESSION ok",
    `session ${hex(result.sessionid)}, ${slotsText(fore.maxRequests, slotCount, m.wantedSlots)}, ` +
      `maxreq ${fore.maxRequestSize}, maxresp ${fore.maxResponseSize}`,
    { session: result.sessionid, slots: slotCount },
  );
  // A session too small to work in is not used: nothing would fit, or
  // COMPOUNDs past the grant would be refused one by one
  // (NFS4ERR_TOO_MANY_OPS, NFS4ERR_REQ_TOO_BIG). It stays recorded, so that
  // the failed connect's release destroys it with the client ID.
  const shortfalls = foreChannelShortfalls(fore);
  if (shortfalls.length > 0) {
    m.tracer.emit("sess", "session too small", shortfalls.join("; "));
    throw new SessionGrantError(m.client.server, shortfalls);
  }
  return S.NFS4_OK;
}

/** SESSION_RESET's second half; also used after EXCHANGE_ID. */
export { createSessionNow as createSession };

/**
 * SESSION_RESET's first half: drain the session, then DESTROY_SESSION;
 * an error other than NFS4ERR_DELAY and NFS4ERR_BACK_CHAN_BUSY (waited
 * out) is ignored (the session may be gone already). The message when no
 * answer came.
 */
export async function destroySession(m: StateManager): Promise<string | undefined> {
  return (await destroySessionNow(m, { reset: true })).failed;
}

/**
 * The wait before DESTROY_SESSION goes again after NFS4ERR_DELAY or
 * NFS4ERR_BACK_CHAN_BUSY (the kernel's ssleep(1) in nfs4_reset_session).
 */
const DESTROY_SESSION_WAIT_MS = 1_000;

/**
 * DESTROY_SESSIONs sent at most while the server answers NFS4ERR_DELAY or
 * NFS4ERR_BACK_CHAN_BUSY (4 s of waiting). The kernel tries again for as
 * long as it is so answered, each time after draining anew; here the
 * session reset goes on to CREATE_SESSION and the session is left (and
 * tried again at exit), and the release at exit leaves it (the client ID
 * then lapses with the lease).
 */
const DESTROY_SESSION_TRIES = 5;

/**
 * Sessions a session reset could not destroy (the server kept answering
 * NFS4ERR_DELAY, or never answered): the release at exit tries them again, drained long
 * since, before DESTROY_CLIENTID (which the server refuses, with
 * NFS4ERR_CLIENTID_BUSY, while a session of the client is left).
 */
const sessionsLeft = new WeakMap<
  StateManager,
  { readonly id: Uint8Array; readonly clientId: bigint | undefined }[]
>();

/**
 * Drains the current session (StateManager.drainSession: no new request
 * takes its slots, the ones in flight are answered first) and sends
 * DESTROY_SESSION (RFC 8881 §18.37; after BIND_CONN_TO_SESSION when the
 * connection is not bound to it), waiting a second and sending it again
 * while the server answers NFS4ERR_DELAY (a request on the session still
 * being run) or NFS4ERR_BACK_CHAN_BUSY (callbacks outstanding), as the
 * kernel's nfs4_reset_session does (commit c489ee290bdb), within
 * {@linkcode DESTROY_SESSION_TRIES} and the manager's stop (the release
 * window after an interrupt). `failed` when no answer came (the message),
 * `left` when the server may still hold a session after it (its answer was
 * neither NFS4_OK nor NFS4ERR_BADSESSION or NFS4ERR_DEADSESSION, the session
 * gone already). The release at exit (`reset` not set) also destroys the
 * sessions a reset left.
 */
async function destroySessionNow(
  m: StateManager,
  options: { reset?: boolean } = {},
): Promise<{ failed?: string; left?: boolean }> {
  const session = m.client.session;
  const earlier = options.reset ? [] : sessionsLeft.get(m)?.splice(0) ?? [];
  if (!session && earlier.length === 0) return {};
  m.client.session = undefined;
  let failed: string | undefined;
  let left = false;
  if (session) {
    try {
      await m.drainSession(session.slots, hex(session.id));
      const outcome = await destroyOne(m, session.id);
      if (outcome !== "destroyed") {
        left = true;
        if (options.reset) rememberLeft(m, session.id);
      }
    } catch (e) {
      m.tracer.emit("sess", "DESTROY_SESSION failed", (e as Error).message);
      failed = (e as Error).message;
      left = true;
      // No answer: the server may still hold it (the request lost on the
      // way), so the release at exit tries it again; one the server did
      // destroy is answered NFS4ERR_BADSESSION then, which is as good.
      if (options.reset) rememberLeft(m, session.id);
    }
  }
  for (const { id, clientId } of earlier) {
    if (clientId !== m.client.clientId) {
      // A session of a client ID since replaced (the server answered
      // CREATE_SESSION with NFS4ERR_STALE_CLIENTID after it gave the old
      // client ID back from its confirmed record, then purged it): it went
      // with its client ID (RFC 8881 §18.35.4, §8.4.3), and nothing of the
      // old client ID is sent.
      m.tracer.emit(
        "sess",
        "DESTROY_SESSION not sent",
        `session ${hex(id)}: its client ID ${
          clientId === undefined ? "(none)" : `0x${clientId.toString(16).padStart(16, "0")}`
        } was replaced; the server dropped the session with it`,
      );
      continue;
    }
    // Left by a session reset: nothing of this client is in flight on it.
    try {
      if (await destroyOne(m, id) !== "destroyed") left = true;
    } catch (e) {
      m.tracer.emit("sess", "DESTROY_SESSION failed", (e as Error).message);
      failed ??= (e as Error).message;
      left = true;
    }
  }
  return {
    ...(failed !== undefined ? { failed } : {}),
    ...(left ? { left } : {}),
  };
}

/** A session a reset left on the server, for the release at exit. */
function rememberLeft(m: StateManager, id: Uint8Array): void {
  const list = sessionsLeft.get(m) ?? [];
  list.push({ id, clientId: m.client.clientId });
  sessionsLeft.set(m, list);
}

/**
 * DESTROY_SESSION of session `id` until it is answered other than
 * NFS4ERR_DELAY and NFS4ERR_BACK_CHAN_BUSY (at most
 * {@linkcode DESTROY_SESSION_TRIES}, a second apart, while the manager is
 * not stopped) and, on NFS4ERR_CONN_NOT_BOUND_TO_SESSION, after binding
 * this connection (a few rounds: the bound connection may itself be lost
 * before the destroy). Throws when no answer came.
 */
async function destroyOne(
  m: StateManager,
  id: Uint8Array,
): Promise<"destroyed" | "left"> {
  let failed = failureOf(await m.sendSessionless([destroySessionOp(id)]));
  let binds = 0;
  let tries = 1;
  for (;;) {
    const outcome = failed ? destroySessionOutcome(failed.status) : "destroyed";
    if (outcome === "bind" && binds < 3) {
      binds++;
      // A reconnect gave us a connection the server has not bound to the
      // session (RFC 8881 §18.37.3): bind it (§18.34), then destroy. Left
      // alone, the session would outlive us and DESTROY_CLIENTID fail with
      // NFS4ERR_CLIENTID_BUSY.
      const bound = failureOf(
        await m.sendSessionless([
          bindConnToSession({
            sessionid: id,
            dir: ChannelDirFromClient.CDFC4_FORE_OR_BOTH,
            useConnInRdmaMode: false,
          }),
        ]),
      );
      m.tracer.emit(
        "sess",
        bound ? `BIND_CONN_TO_SESSION -> ${statusName(bound.status)}` : "BIND_CONN_TO_SESSION ok",
        `session ${hex(id)}, to destroy it`,
      );
      if (bound) break;
    } else if (outcome === "wait" && tries < DESTROY_SESSION_TRIES) {
      // The server still runs a request of the session, or waits for our
      // answer to a callback: wait, and destroy it then.
      m.tracer.emit(
        "sess",
        `DESTROY_SESSION -> ${statusName(failed!.status)}`,
        `session ${hex(id)}: again in ${ms(DESTROY_SESSION_WAIT_MS)}`,
      );
      try {
        await m.pause(DESTROY_SESSION_WAIT_MS);
      } catch (e) {
        m.tracer.emit(
          "sess",
          "DESTROY_SESSION not sent again",
          `session ${hex(id)}: ${(e as Error)?.message ?? String(e)}`,
        );
        break;
      }
      tries++;
    } else {
      break;
    }
    failed = failureOf(await m.sendSessionless([destroySessionOp(id)]));
  }
  m.tracer.emit(
    "sess",
    failed ? `DESTROY_SESSION -> ${statusName(failed.status)}` : "DESTROY_SESSION ok",
    `session ${hex(id)}`,
  );
  return failed && destroySessionOutcome(failed.status) !== "destroyed" ? "left" : "destroyed";
}

/** BIND_CONN_TO_SESSION for the fore (and back) channel. */
export async function bindConnection(
  m: StateManager,
): Promise<{ readonly status: number; readonly dir?: number }> {
  const session = m.client.session;
  if (!session) return { status: S.NFS4ERR_BADSESSION };
  const reply = await m.sendSessionless([
    bindConnToSession({
      sessionid: session.id,
      dir: ChannelDirFromClient.CDFC4_FORE_OR_BOTH,
      useConnInRdmaMode: false,
    }),
  ]);
  const failed = failureOf(reply);
  if (failed) return { status: failed.status };
  // bctsr_dir: the server may bind the fore channel only, though asked for
  // both (RFC 8881 §18.34.3): the back channel is then still down.
  return { status: S.NFS4_OK, dir: (reply.outcomes[0]!.value as BindConnToSessionResult).dir };
}

/** The lease_time attribute (RFC 7530 §5.8.1.11), read after establishing. */
export async function fetchLeaseTime(m: StateManager): Promise<void> {
  const reply = await m.send([putrootfh(), getattr([Attr.LEASE_TIME])]);
  const failed = failureOf(reply);
  if (failed) {
    m.tracer.emit("lease", "lease_time unknown", `${failed.name} -> ${statusName(failed.status)}`);
    return;
  }
  const attrs = (reply.outcomes[1]!.value as { attrs: { leaseTime?: number } }).attrs;
  if (attrs.leaseTime !== undefined && attrs.leaseTime > 0) m.client.leaseTime = attrs.leaseTime;
  m.tracer.emit(
    "lease",
    `lease ${m.client.leaseTime} s`,
    `renew every ${(m.client.renewalPeriodMs / 1000).toFixed(1)} s`,
    {
      leaseTime: m.client.leaseTime,
    },
  );
}

/**
 * Who sent a renewal, for the trace (a learner checks "renewed at 2/3 of
 * the lease" against the renewer's lines only): the renewal timer
 * (`renewer`, the kernel's renewd), the CHECK_LEASE recovery step, or a
 * caller that asked for one (`lease probe`: the shell's `renew`, a drill's
 * check, renew-watch).
 */
export type RenewalSender = "renewer" | "CHECK_LEASE" | "lease probe";

/** RENEW (4.0) or a lone SEQUENCE (4.1), sent by `by`; returns the status. */
export async function renewLease(m: StateManager, by: RenewalSender): Promise<number> {
  const c = m.client;
  if (c.clientId === undefined) return S.NFS4ERR_STALE_CLIENTID;
  const t0 = m.clock.now();
  const leftBefore = m.leaseLeftMs();
  let status: number;
  let op: string;
  let reply: CompoundReply;
  if (m.minorVersion === 0) {
    op = "RENEW";
    reply = await m.send([renew(c.clientId)]);
    status = failureOf(reply)?.status ?? S.NFS4_OK;
  } else {
    op = "SEQUENCE";
    for (let tries = 1;; tries++) {
      reply = await m.send([]);
      status = reply.outcomes[0]?.status ?? S.NFS4_OK;
      if (status === S.NFS4_OK || tries > 2 || !m.answeredOnReplacedSession(reply)) break;
      // Sent on a session that recovery replaced while it was in flight
      // (a new client ID after the lease expired): its failure is that
      // session's, nothing to recover from now (a session reset would tear
      // down the new one). The renewal is for the lease of the current
      // client ID: sent again on the current session.
      m.tracer.emit(
        "lease",
        `${op} -> ${statusName(status)}`,
        `${by}: rtt ${
          ms(m.clock.now() - t0)
        }; sent on a session replaced since: again on the current one`,
        { by },
      );
    }
  }
  const now = m.clock.now();
  const tookMs = now - t0;
  // The round trip of the exchange that was answered; the time since the
  // first try, with the resends between, said beside it when they differ
  // (a server down for 16 s is not a 16 s round trip).
  const answered = m.answeredExchange(reply);
  const rtt = answered !== undefined ? now - answered.sentAt : tookMs;
  const timing = answered !== undefined && answered.resends > 0
    ? `rtt ${ms(rtt)}, ${ms(tookMs)} with ${answered.resends} resend(s)`
    : `rtt ${ms(rtt)}`;
  const timingData = {
    by,
    rttMs: rtt,
    ...(answered !== undefined && answered.resends > 0
      ? { tookMs, resends: answered.resends }
      : {}),
  };
  if (status === S.NFS4_OK) {
    m.tracer.emit(
      "lease",
      `${op} ok`,
      `${by}: ${timing}, lease had ${ms(Math.max(0, leftBefore))} left, now ${ms(m.leaseLeftMs())}`,
      { ...timingData, leaseLeftBeforeMs: leftBefore, leaseLeftMs: m.leaseLeftMs() },
    );
  } else {
    m.tracer.emit("lease", `${op} -> ${statusName(status)}`, `${by}: ${timing}`, timingData);
  }
  return status;
}

// ----------------------------------------------------------- reclaim

/** Fault injection for simulate-reboot --fail-reclaim (the seeds' test). */
export type ReclaimFault = "open" | "lock" | undefined;

/**
 * RECLAIM_REBOOT (kernel nfs4_do_reclaim with the reboot ops): OPEN with
 * CLAIM_PREVIOUS for each marked open, LOCK with reclaim set for its locks,
 * then RECLAIM_COMPLETE on 4.1 (nfs4_state_end_reclaim_reboot). NO_GRACE or
 * RECLAIM_BAD turn the rest into no-grace recovery; any other failure marks
 * that state bad (nfs4_state_mark_recovery_failed -> NFS_CONTEXT_BAD).
 */
export async function reclaimReboot(m: StateManager): Promise<ReclaimCounts> {
  const done: ReclaimCounts = {
    opens: { reclaimed: 0, lost: 0, noGrace: 0 },
    locks: { reclaimed: 0, lost: 0, noGrace: 0 },
  };
  const pending = [...m.opens].filter((o) => o.reclaim === "reboot" && !o.closed);
  for (const state of pending) {
    if (state.closing) {
      // Its CLOSE began after the state was marked: not re-made only to be
      // closed (its CLOSE is then not sent either, closeOpen).
      notReclaimed(m, state, "being closed");
      continue;
    }
    if (state.reclaim !== "reboot") continue;
    try {
      await reclaimOpen(m, state, "previous");
      done.opens.reclaimed++;
    } catch (e) {
      if (
        e instanceof NfsError &&
        (e.status === S.NFS4ERR_NO_GRACE || e.status === S.NFS4ERR_RECLAIM_BAD)
      ) {
        // Grace is over (or the server will not take this reclaim): recover the rest without grace.
        for (const o of m.opens) {
          if (o.reclaim !== "reboot") continue;
          done.opens.noGrace++;
          done.locks.noGrace += o.locks.filter((l) =>
            l.reclaim === "reboot" && l.bad === undefined && l.ranges.length > 0
          ).length;
        }
        m.markPendingNoGrace(`OPEN(CLAIM_PREVIOUS) -> ${e.statusName}`);
        break;
      }
      if (endsTheStep(m, e)) throw e;
      done.opens.lost++;
      done.locks.lost += markBad(m, state, e);
      continue;
    }
    for (const lockState of state.locks) {
      if (lockState.reclaim !== "reboot") continue;
      const holds = lockState.ranges.length > 0 ? 1 : 0;
      if (lockState.bad !== undefined) {
        // Lost after it was marked (the lease ran out by this client's
        // clock meanwhile): never re-taken behind the user's back.
        m.noteLockNotReclaimed(lockState);
        done.locks.lost += holds;
        continue;
      }
      try {
        await reclaimLocks(m, lockState, true);
        done.locks.reclaimed += holds;
      } catch (e) {
        if (
          e instanceof NfsError &&
          (e.status === S.NFS4ERR_NO_GRACE || e.status === S.NFS4ERR_RECLAIM_BAD)
        ) {
          lockState.needsNoGrace(`LOCK(reclaim) -> ${e.statusName}`, m.clock.now());
          m.setFlag("RECLAIM_NOGRACE", `LOCK(reclaim) -> ${e.statusName}`);
          done.locks.noGrace += holds;
          continue;
        }
        if (endsTheStep(m, e)) throw e;
        markLockBad(m, lockState, e);
        done.locks.lost += holds;
      }
    }
  }
  if (m.sessions) await sendReclaimComplete(m);
  return done;
}

/** What a reboot reclaim came to, for the trace (`-RECLAIM_REBOOT (reclaim done: …)`). */
export interface ReclaimCounts {
  readonly opens: { reclaimed: number; lost: number; noGrace: number };
  /** Locks that held a range (one with none has nothing to reclaim). */
  readonly locks: { reclaimed: number; lost: number; noGrace: number };
}

/**
 * 4.1 RECLAIM_COMPLETE (RFC 8881 §18.51): the end of the reclaims after a
 * new client ID, sent even with nothing to reclaim (§18.51.3: before the
 * first non-reclaim locking operation). `why`, for the trace, when it is
 * not the end of a reboot reclaim.
 */
async function sendReclaimComplete(m: StateManager, why?: string): Promise<void> {
  const reply = await m.run(() => [reclaimComplete(false)], {
    inRecovery: true,
    final: new Set([S.NFS4ERR_COMPLETE_ALREADY, S.NFS4ERR_NOTSUPP]),
  }).then(
    () => "ok",
    (e) => {
      if (!(e instanceof NfsError)) throw e;
      if (e.status === S.NFS4ERR_COMPLETE_ALREADY) return "already complete";
      // A server without RECLAIM_COMPLETE ends grace by its timer alone.
      if (e.status === S.NFS4ERR_NOTSUPP) return "not supported by the server";
      throw e;
    },
  );
  m.reclaimCompleteDue = false;
  m.tracer.emit("step", `RECLAIM_COMPLETE ${reply}`, why);
}

/** An open recovery leaves as it is, traced with why (`not reclaimed`). */
function notReclaimed(m: StateManager, state: OpenState, why: string): void {
  state.reclaim = "none";
  m.tracer.emit("open", "not reclaimed", `${state.path}: ${why}`);
}

/**
 * RECLAIM_NOGRACE: re-open (CLAIM_FH on 4.1, CLAIM_NULL by name on 4.0) and
 * re-lock. Returns how many states it took up (0: nothing was to be
 * recovered, for the trace).
 */
export async function reclaimNoGrace(m: StateManager): Promise<number> {
  let handled = 0;
  if (m.sessions && m.reclaimCompleteDue) {
    // A client ID made again after the lease expired: no reclaim in grace
    // (the RECLAIM_REBOOT step is not taken), but RFC 8881 §18.51.3 still
    // wants RECLAIM_COMPLETE before the re-OPENs, which are not reclaims.
    await sendReclaimComplete(
      m,
      `${
        m.clientIdKept ? "the same client ID back" : "new client ID"
      } after the lease expired: nothing reclaimed in grace`,
    );
  }
  // 4.1: whatever marked them (the same client ID back, a reclaim refused
  // NO_GRACE or RECLAIM_BAD on the current one), states of the current
  // client ID are tested before they are re-made or a lock declared lost
  // (keepValidStates), as the kernel's nfs41_open_expired and
  // nfs41_lock_expired do (RFC 8881 §8.2.4).
  if (m.sessions) await keepValidStates(m);
  const pending = [...m.opens].filter((o) => o.reclaim === "nograce" && !o.closed);
  for (const state of pending) {
    if (state.closing) {
      notReclaimed(m, state, "being closed");
      continue;
    }
    handled++;
    try {
      await reclaimOpen(m, state, "nograce");
    } catch (e) {
      if (endsTheStep(m, e)) throw e;
      markBad(m, state, e);
      continue;
    }
    for (const lockState of state.locks) {
      // Not one TEST_STATEID found the server still holds (keepValidStates).
      if (lockState.reclaim === "nograce") await recoverLostLock(m, lockState);
    }
  }
  // Locks whose open survived but that were lost themselves.
  for (const state of m.opens) {
    for (const lockState of state.locks) {
      if (lockState.reclaim !== "nograce" || state.bad !== undefined || state.closing) continue;
      handled++;
      await recoverLostLock(m, lockState);
    }
  }
  // Used: a later no-grace reclaim under this client ID (a state found
  // revoked) has nothing to do with its coming back.
  m.clientIdKept = false;
  return handled;
}

/**
 * A lock the server may have given to someone else meanwhile (lease
 * expired, revoked, reclaim refused) is lost: marked so, never re-taken
 * behind the user's back (the kernel's default, recover_lost_locks=0;
 * RFC 8881 §8.4.3 leaves nothing to prove it was not taken in between).
 * Only with `reacquireLostLocks` is it re-taken, and the trace says that it
 * was not held in between.
 */
async function recoverLostLock(m: StateManager, lockState: LockState): Promise<void> {
  if (lockState.ranges.length === 0) {
    // Its first LOCK never succeeded: nothing was held, nothing is lost.
    lockState.stateid = undefined;
    lockState.reclaim = "none";
    return;
  }
  if (!m.reacquireLostLocks) {
    // Under a client ID replaced since, the old lock stateid means nothing
    // now. Under the same one (StateManager.clientIdKept, or on 4.1 the
    // current one) the server may still hold the lock when nothing said
    // otherwise (4.0, which has no TEST_STATEID; a 4.1 server without it):
    // the stateid is kept, for the release at close to unlock what may be
    // left (unlockRange), rather than leave a lock on the server that its
    // CLOSE then meets (NFS4ERR_LOCKS_HELD). One TEST_STATEID found gone
    // has none already (keepValidStates).
    if (
      m.clientIdGone(lockState.clientId) !== undefined || !(m.clientIdKept || m.sessions)
    ) {
      lockState.stateid = undefined;
    }
    markLockLost(m, lockState, lockState.lostReason ?? "the server may have released it");
    return;
  }
  const since = lockState.lostAt ?? m.clock.now();
  try {
    await reclaimLocks(m, lockState, false);
    m.tracer.emit(
      "lock",
      "LOCK re-acquired",
      `${lockState.open.path}: not held from ${m.tracer.at(since)} to ${
        m.tracer.at(m.clock.now())
      }`,
    );
    lockState.lostAt = undefined;
    lockState.lostNoticedAt = undefined;
    lockState.lostReason = undefined;
  } catch (e) {
    if (endsTheStep(m, e)) throw e;
    markLockBad(m, lockState, e);
  }
}

/**
 * 4.1, in a no-grace reclaim of states made under the current client ID
 * (the same client ID came back, StateManager.clientIdKept: the server
 * answered SEQUENCE NFS4ERR_EXPIRED, then revived its record of this client
 * rather than make a new one; or a reclaim on it was refused NO_GRACE or
 * RECLAIM_BAD, after SEQ4_STATUS_RESTART_RECLAIM_NEEDED from a server that
 * still holds them): which of the states to recover does the server still
 * hold? TEST_STATEID
 * (RFC 8881 §18.48, §8.2.4) of each one's stateid, as the Linux client's
 * nfs41_open_expired does before it re-opens anything
 * (nfs41_check_delegation_stateid, nfs41_check_expired_locks,
 * nfs41_check_open_stateid, nfs41_test_and_free_expired_stateid). What the
 * server says is valid is kept as it is: not re-opened, and a lock not
 * lost, whatever the lease expiry said of it before (a lock the server
 * still holds under its stateid was never released, so no one else can
 * have held it meanwhile, RFC 8881 §8.4.3). What it says is gone is
 * recovered as before: FREE_STATEID first for an expired or revoked one
 * (the server keeps those until freed, §8.2.4; the kernel frees EXPIRED,
 * ADMIN_REVOKED and DELEG_REVOKED), then the open re-opened, the lock lost
 * (its stateid with it, nothing left to unlock), the delegation dropped.
 * A lock this client's own clock lost already (the lease ran out here
 * first, markAllForReclaim) stays lost: the user was told. Without
 * TEST_STATEID (NFS4ERR_NOTSUPP) every state is recovered as before.
 * States of a client ID replaced since are not tested (RFC 8881 §8.4.2).
 */
async function keepValidStates(m: StateManager): Promise<void> {
  // Found gone by the TEST_STATEIDS step that led here: not tested again.
  const freedAlready = (stateid: Stateid | undefined) =>
    stateid !== undefined && foundGone.has(stateid);
  type Entry = {
    stateid: Stateid;
    state: OpenState;
    lock?: LockState;
    delegation?: Delegation;
  };
  const entries: Entry[] = [];
  for (const state of m.opens) {
    if (state.bad !== undefined || state.closed || state.closing) continue;
    const current = m.clientIdGone(state.clientId) === undefined;
    if (state.reclaim === "nograce" && current && !freedAlready(state.stateid)) {
      entries.push({ stateid: state.stateid, state });
      const d = state.delegation;
      if (d && m.clientIdGone(d.clientId) === undefined) {
        entries.push({ stateid: d.stateid, state, delegation: d });
      }
    }
    for (const lock of state.locks) {
      if (lock.reclaim === "nograce" && freedAlready(lock.stateid)) {
        // Freed already (FREE_STATEID): nothing to unlock at close.
        lock.stateid = undefined;
        continue;
      }
      if (
        lock.reclaim === "nograce" && lock.bad === undefined && lock.stateid !== undefined &&
        lock.ranges.length > 0 && m.clientIdGone(lock.clientId) === undefined
      ) {
        entries.push({ stateid: lock.stateid, state, lock });
      }
    }
  }
  if (entries.length === 0) return;
  const statuses = await testStateidsOrNotSupported(m, entries.map((e) => e.stateid));
  if (statuses === undefined) {
    m.tracer.emit(
      "step",
      "TEST_STATEID not supported",
      `${
        m.clientIdKept ? "the same client ID came back" : "states of the current client ID"
      }: recovering every state without grace`,
    );
    return;
  }
  const why = "TEST_STATEID NFS4_OK: the server kept it with the client ID";
  for (const [i, entry] of entries.entries()) {
    // One status per stateid; one missing is not taken as valid.
    const status = statuses[i] ?? S.NFS4ERR_BAD_STATEID;
    const { state, lock, delegation } = entry;
    if (status === S.NFS4_OK) {
      if (lock) {
        lock.reclaim = "none";
        lock.lostAt = undefined;
        lock.lostNoticedAt = undefined;
        lock.lostReason = undefined;
        m.tracer.emit(
          "lock",
          "kept",
          `${state.path} ${
            lock.ranges.map((r) => `${r.type} ${formatRange(r.offset, r.length)}`).join(", ")
          } ${formatStateid(entry.stateid)}: ${why}; not lost`,
        );
      } else if (!delegation) {
        state.reclaim = "none";
        m.tracer.emit("open", "kept", `${state.describe()}: ${why}; not re-opened`);
      }
      continue;
    }
    m.tracer.emit(
      delegation ? "deleg" : lock ? "lock" : "open",
      `TEST_STATEID ${formatStateid(entry.stateid)} -> ${statusName(status)}`,
      state.path,
    );
    if (REVOKED.has(status)) {
      await m.run(() => [freeStateid(entry.stateid)] as const, {
        inRecovery: true,
        final: FREE_STATEID_FINAL,
      }).catch((e) => {
        if (endsTheStep(m, e)) throw e;
      });
    }
    if (delegation) {
      if (state.delegation === delegation) state.delegation = undefined;
      m.tracer.emit("deleg", "delegation gone, dropped", state.path);
    } else if (lock) {
      // Gone from the server: nothing to unlock at close.
      lock.stateid = undefined;
    }
  }
}

/**
 * Stateids a TEST_STATEIDS step found gone and freed: the no-grace
 * recovery that follows does not test them again (keepValidStates).
 */
const foundGone = new WeakSet<Stateid>();

/**
 * TEST_STATEID (RFC 8881 §18.48) of `stateids`, sent by a recovery step:
 * the server's status for each, in order, or undefined when it answers
 * NFS4ERR_NOTSUPP (a server that does not implement it), which each
 * caller traces in its own words and recovers without. Any other failure
 * is thrown.
 */
async function testStateidsOrNotSupported(
  m: StateManager,
  stateids: readonly Stateid[],
): Promise<readonly number[] | undefined> {
  try {
    const [statuses] = await m.run(() => [testStateid(stateids)] as const, {
      inRecovery: true,
      final: new Set([S.NFS4ERR_NOTSUPP]),
    });
    return statuses;
  } catch (e) {
    if (e instanceof NfsError && e.status === S.NFS4ERR_NOTSUPP) return undefined;
    throw e;
  }
}

/** Marks a lock lost (every later use of it fails with EBADF) and says so. */
export function markLockLost(m: StateManager, lockState: LockState, reason: string): void {
  if (lockState.bad !== undefined) return;
  lockState.bad = `lock lost: ${reason}`;
  lockState.reclaim = "none";
  const path = lockState.open.path;
  const ranges = lockState.ranges.map(({ type, offset, length }) => ({ type, offset, length }));
  m.tracer.emit(
    "lock",
    "lock lost",
    `${path} ${
      ranges.map((r) => `${r.type} ${formatRange(r.offset, r.length)}`).join(", ")
    }: ${reason}`,
    { path, ranges, reason },
  );
  tellLockLost(m, lockState, reason);
}

/**
 * Recovery gave `openState` up as a whole (it failed, or the state was purged):
 * each lock of it that holds a range is lost with it, through
 * {@linkcode markLockLost} (the `lock lost` event, the onLockLost
 * listeners), once: a lock given up already is not told again. The open
 * is marked bad first, so a listener that looks finds it unusable.
 */
export function markHeldLocksLost(m: StateManager, openState: OpenState, reason: string): void {
  for (const lockState of openState.locks) {
    if (lockState.ranges.length > 0) markLockLost(m, lockState, reason);
  }
}

/**
 * Tells the open's onLockLost listeners (NfsFile.onLockLost) that the held
 * ranges of `lockState` are lost, at once, rather than at the next call on
 * the file. A listener that throws is dropped and said so (`error` event,
 * and once on stderr, as a trace sink that throws).
 */
function tellLockLost(m: StateManager, lockState: LockState, reason: string): void {
  lockState.open.tellLockLost(lockState.ranges, reason, (e) => {
    const message = e instanceof Error ? e.message : String(e);
    m.tracer.emit("error", "onLockLost listener dropped", `${lockState.open.path}: ${message}`);
    console.error("nfs4: an onLockLost listener threw, and was dropped:", e);
  });
}

/**
 * An error that ends a recovery step rather than marking one state bad: one
 * about the client ID or session (the loop handles it and the step runs
 * again after), or any after an interrupt, which stops the step where it is
 * (nothing more is sent then but releases; manager.ts, run()).
 */
function endsTheStep(m: StateManager, e: unknown): boolean {
  return m.interrupted || isLeaseLevel(e);
}

/**
 * An error that is about the client ID or session, not this state: the loop
 * handles it (re-establish, reset) and the reclaim runs again after.
 */
function isLeaseLevel(e: unknown): boolean {
  if (!(e instanceof NfsError)) return false;
  // STALE_STATEID in the middle of a reclaim: the server rebooted again
  // (kernel nfs4_recovery_handle_error); reclaim starts over, nothing is lost.
  if (e.status === S.NFS4ERR_STALE_STATEID) return true;
  return leaseErrorFlags(e.status) !== undefined && e.status !== S.NFS4ERR_CB_PATH_DOWN;
}

/** What CB_GETATTR reports of a delegated file (callback.ts delegatedAttributes). */
const DELEGATED_ATTRS = [Attr.CHANGE, Attr.SIZE];

async function reclaimOpen(
  m: StateManager,
  state: OpenState,
  how: "previous" | "nograce",
): Promise<void> {
  const owner = state.owner;
  const clientid = m.client.clientId!;
  if (m.faults.failReclaim === "open") {
    m.tracer.emit("open", "reclaim fault injected", state.path);
    throw new Error("reclaim failed (fault injected)");
  }
  const byName = () => {
    if (!state.parentFh || state.name === undefined) {
      throw new Error("no directory handle to re-open by name");
    }
    return {
      dirFh: state.parentFh,
      claim: { claim: OpenClaimType.CLAIM_NULL, file: state.name } as const,
    };
  };
  // What the users still hold, no more: an OPEN_DOWNGRADE in flight when
  // the server restarted or the state was lost (answered later, or sent
  // again after this) must not leave the wider share re-opened (RFC 7530
  // §9.11: the open's share is the union of its users').
  const inUse = state.sharesInUse();
  const share: ShareModes = {
    access: (state.access & inUse.access) || state.access,
    deny: state.deny & inUse.deny,
  };
  const openOp = (claim: OpenClaim) =>
    open({
      seqid: owner.seqid,
      shareAccess: shareAccessWire(m, share.access),
      shareDeny: share.deny,
      owner: { clientid, owner: owner.id },
      claim,
    });
  // The file's change and size at the re-open, which CB_GETATTR reports for
  // a write delegation it grants (RFC 7530 §10.4.3, RFC 8881 §10.4.3: the
  // server compares them with its record of the (re)grant; the ones from
  // before a reboot would tell it the file was modified here). Asked for
  // wherever a write delegation may come: a reclaim of one, and a re-open
  // without grace for writing (only a write open is granted one). A read
  // delegation is never asked its attributes (CB_GETATTR is for write
  // delegations, callback.ts).
  const wantAttrs = how === "previous"
    ? state.delegation?.type === "write"
    : (share.access & ShareAccess.OPEN4_SHARE_ACCESS_WRITE) !== 0;
  /**
   * By name, the file's handle comes back too: the name may be another file
   * now. By handle the GETATTR goes before the OPEN (the same file, in the
   * same COMPOUND): a GETATTR refused then leaves no OPEN done, so the
   * status table's resend never runs a reclaim twice. By name it can only
   * follow the GETFH, as in an application's OPEN (files.ts).
   */
  const send = async (
    dirFh: FileHandle,
    claim: OpenClaim,
  ): Promise<{ result: OpenResult; fh?: FileHandle; attrs?: FileAttributes }> => {
    const byName = claim.claim === OpenClaimType.CLAIM_NULL;
    const asked = wantAttrs ? [getattr(DELEGATED_ATTRS)] : [];
    const openAt = byName || !wantAttrs ? 1 : 2;
    const values = await m.run(
      (): OpList =>
        byName
          ? [putfh(dirFh), openOp(claim), getfh(), ...asked]
          : [putfh(dirFh), ...asked, openOp(claim)],
      {
        seqidOwners: [owner],
        reclaim: how === "previous",
        inRecovery: true,
        underOwners: confirmUnderOwner(m, owner, openAt, state.fh),
      },
    );
    const fattr = wantAttrs ? values[byName ? 3 : 1] as DecodedFattr : undefined;
    return {
      result: values[openAt] as OpenResult,
      ...(byName ? { fh: values[2] as FileHandle } : {}),
      ...(fattr ? { attrs: fattr.attrs } : {}),
    };
  };
  let reply;
  let byFh = false;
  if (how === "previous") {
    reply = await send(state.fh, {
      claim: OpenClaimType.CLAIM_PREVIOUS,
      delegateType: state.delegation
        ? state.delegation.type === "read"
          ? DelegationType.OPEN_DELEGATE_READ
          : DelegationType.OPEN_DELEGATE_WRITE
        : DelegationType.OPEN_DELEGATE_NONE,
    });
  } else if (m.sessions) {
    try {
      reply = await send(state.fh, { claim: OpenClaimType.CLAIM_FH });
      byFh = true;
    } catch (e) {
      // CLAIM_FH is the 4.1 way (RFC 8881 §18.16.3), but a server may not
      // have it (NOTSUPP, or INVAL for a claim it does not know): by name,
      // as 4.0 does and the kernel falls back (nfs4_map_atomic_open_claim).
      // The refused OPEN did nothing, so nothing runs twice.
      if (
        !(e instanceof NfsError) ||
        (e.status !== S.NFS4ERR_NOTSUPP && e.status !== S.NFS4ERR_INVAL) ||
        !state.parentFh || state.name === undefined
      ) throw e;
      m.tracer.emit("open", "OPEN(CLAIM_FH) refused", `${state.path}: ${e.statusName}; by name`);
      const { dirFh, claim } = byName();
      reply = await send(dirFh, claim);
    }
  } else {
    const { dirFh, claim } = byName();
    reply = await send(dirFh, claim);
  }
  const { result, fh, attrs } = reply;
  if (fh !== undefined && !bytesEqual(fh, state.fh)) {
    // By name, and the name is another file now (renamed away, replaced
    // meanwhile): that open is not this state's. Closed again, and the
    // state fails as lost, as the kernel's nfs4_open_recover_helper fails
    // a recovered open of another file with ESTALE; I/O through the old
    // handle would reach neither the file opened nor the one recovered.
    await m.run(
      () => [putfh(fh), close({ seqid: owner.seqid, stateid: result.stateid })] as const,
      { seqidOwners: [owner], inRecovery: true },
    ).catch(() => undefined);
    throw new Error(`${state.path} now names another file (re-opened by name)`);
  }
  const before = formatStateid(state.stateid);
  state.stateid = result.stateid;
  // Of the current client ID from now on (StateManager.clientIdGone).
  state.clientId = m.client.clientId;
  state.access = share.access;
  state.deny = share.deny;
  state.reclaim = "none";
  noteDelegation(m, state, result, how, attrs);
  m.tracer.emit(
    "open",
    how === "previous"
      ? "OPEN(CLAIM_PREVIOUS) reclaimed"
      : `OPEN(${byFh ? "CLAIM_FH" : "CLAIM_NULL"}) recovered`,
    `${state.path} ${before} -> ${formatStateid(state.stateid)}`,
  );
}

/**
 * The 4.0 OPEN_CONFIRM an OPEN asks for (OPEN4_RESULT_CONFIRM, RFC 7530
 * §16.18), as a `RunOptions.underOwners` hook: it goes out while the open
 * owner is still held, so no other OPEN of the owner slips in between (the
 * server refuses an unconfirmed owner's next OPEN). `fhAt` is the position
 * of the opened file's GETFH in the results, or the file handle itself.
 */
export function confirmUnderOwner(
  m: StateManager,
  owner: OpenState["owner"],
  openAt: number,
  fhAt: number | OpenState["fh"],
): NonNullable<RunOptions["underOwners"]> {
  return async (values, send) => {
    const result = values[openAt] as OpenResult;
    if (!(result.rflags & OpenResultFlags.OPEN4_RESULT_CONFIRM) || m.minorVersion !== 0) return;
    const fh = typeof fhAt === "number" ? values[fhAt] as OpenState["fh"] : fhAt;
    // The seqid the OPEN_CONFIRM carries (RFC 7530 §16.18.2), as tshark
    // shows it: the owner's advances with the reply, before the trace.
    const seqid = owner.seqid;
    const reply = await send([
      putfh(fh),
      openConfirm({ stateid: result.stateid, seqid }),
    ]);
    const failed = failureOf(reply);
    if (failed) throw new NfsError(failed.status, failed.name);
    owner.confirmed = true;
    (result as { stateid: Stateid }).stateid = reply.outcomes[1]!.value as Stateid;
    m.tracer.emit("owner", `OPEN_CONFIRM ${owner.label}`, `seqid ${seqid}`);
  };
}

/** Re-takes every range of a lock state: reclaim=true in grace, plain LOCK otherwise. */
async function reclaimLocks(
  m: StateManager,
  lockState: LockState,
  reclaim: boolean,
): Promise<void> {
  if (m.faults.failReclaim === "lock") {
    m.tracer.emit("lock", "reclaim fault injected", lockState.open.path);
    throw new Error("lock reclaim failed (fault injected)");
  }
  // The server forgot the lock owner: start over with open_to_lock_owner4.
  const before = lockState.stateid;
  lockState.stateid = undefined;
  if (lockState.ranges.length === 0) {
    // Its first LOCK never succeeded: nothing to reclaim.
    lockState.reclaim = "none";
    return;
  }
  for (const range of lockState.ranges) {
    await lockRange(m, lockState, range, { reclaim, inRecovery: true, untraced: true });
  }
  lockState.reclaim = "none";
  // One line, old stateid to new, as an open's reclaim says it.
  const path = lockState.open.path;
  const ranges = lockState.ranges.map(({ type, offset, length }) => ({ type, offset, length }));
  const stateid = lockState.stateid ? formatStateid(lockState.stateid) : "none";
  m.tracer.emit(
    "lock",
    reclaim ? "LOCK(reclaim) reclaimed" : "LOCK recovered",
    `${path} ${ranges.map((r) => `${r.type} ${formatRange(r.offset, r.length)}`).join(", ")} ${
      before ? formatStateid(before) : "none"
    } -> ${stateid}`,
    {
      path,
      ranges,
      stateid,
      ...(before ? { before: formatStateid(before) } : {}),
      owner: lockState.owner.label,
    },
  );
}

const LOCK_FINAL: ReadonlySet<number> = new Set([S.NFS4ERR_DENIED]);
/** The server no longer has the state: nothing to release, nothing to recover first. */
const STATEID_GONE: ReadonlySet<number> = new Set([
  S.NFS4ERR_BAD_STATEID,
  S.NFS4ERR_STALE_STATEID,
  S.NFS4ERR_EXPIRED,
  S.NFS4ERR_ADMIN_REVOKED,
]);
/**
 * A release (CLOSE, DELEGRETURN) answered so has nothing left to release
 * (kernel nfs4_close_done, nfs4_delegreturn_done): the state is gone, or
 * only the revoked stateid is left (freed: {@linkcode freeIfRevoked}).
 */
const RELEASE_FINAL: ReadonlySet<number> = new Set([...STATEID_GONE, S.NFS4ERR_DELEG_REVOKED]);
/** RELEASE_FINAL and NFS4ERR_OLD_STATEID: a CLOSE after a change left unanswered (releaseOpen). */
const RELEASE_FINAL_OR_OLD: ReadonlySet<number> = new Set([
  ...RELEASE_FINAL,
  S.NFS4ERR_OLD_STATEID,
]);
/** Statuses that leave a stateid the server keeps until FREE_STATEID (RFC 8881 §8.2.4). */
const REVOKED: ReadonlySet<number> = new Set([
  S.NFS4ERR_ADMIN_REVOKED,
  S.NFS4ERR_DELEG_REVOKED,
  S.NFS4ERR_EXPIRED,
]);

/**
 * On 4.1, frees a stateid a release was answered revoked or expired for:
 * it stays the server's until the client frees it (RFC 8881 §8.2.4).
 * Whether it was such an answer and FREE_STATEID freed it; a FREE_STATEID
 * refused (NFS4ERR_LOCKS_HELD: the server says the stateid is still in
 * use, not revoked) or unanswered is traced, and reported as not freed.
 */
async function freeIfRevoked(
  m: StateManager,
  stateid: Stateid,
  error: unknown,
  clientId: bigint | undefined,
  inRecovery = false,
): Promise<boolean> {
  if (!m.sessions || !(error instanceof NfsError) || !REVOKED.has(error.status)) return false;
  // A SEQUENCE that failed (the lease gone, after an interrupt: run()) said
  // nothing of the stateid: nothing to free.
  if (error.op === "SEQUENCE") return false;
  try {
    await m.run(() => [freeStateid(stateid)] as const, {
      inRecovery,
      // What the server says of the stateid is the answer: no lease check,
      // no recovery, never again for the same stateid (error_table.ts).
      final: FREE_STATEID_FINAL,
      // RFC 8881 §8.2.4, §18.38: a stateid of the current client ID only.
      stateGone: () => m.clientIdGone(clientId),
    });
    return true;
  } catch (e) {
    if (e instanceof StateDroppedError) {
      m.tracer.emit("state", "FREE_STATEID not sent", `${formatStateid(stateid)}: ${e.reason}`);
      return false;
    }
    if (e instanceof NfsError) {
      const told = refusal(e, "FREE_STATEID", formatStateid(stateid));
      m.tracer.emit("state", told.event, `${told.detail}; not freed`);
    } else {
      m.tracer.emit(
        "state",
        "FREE_STATEID failed",
        `${formatStateid(stateid)}: ${(e as Error).message}; not freed`,
      );
    }
    return false;
  }
}

const NO_WAIT_FINAL: ReadonlySet<number> = new Set([
  S.NFS4ERR_DENIED,
  S.NFS4ERR_GRACE,
  S.NFS4ERR_DELAY,
]);

/**
 * One LOCK (RFC 7530 §16.10): with open_to_lock_owner4 the first time for
 * this lock state, exist_lock_owner4 afterwards.
 */
export async function lockRange(
  m: StateManager,
  lockState: LockState,
  range: LockRange,
  options: {
    reclaim?: boolean;
    inRecovery?: boolean;
    blocking?: boolean | undefined;
    signal?: AbortSignal | undefined;
    /** GRACE and DELAY are the answer, not reasons to wait (`lock -n`). */
    noWait?: boolean | undefined;
    /** RunOptions.answerWithinMs (`lock -w`'s deadline). */
    answerWithinMs?: number | undefined;
    /** RunOptions.onOutcomeUnknown. */
    onOutcomeUnknown?: () => void;
    /** RunOptions.partOfRelease. */
    partOfRelease?: boolean;
    /** No line of its own: a recovery's, which traces the lock state as a whole. */
    untraced?: boolean;
    /**
     * Told of the grant while the lock owner's turn is still held, after
     * the stateid is recorded: the caller records the range there, before
     * the owner's next LOCK or LOCKU is built (RunOptions.recordUnderOwners).
     */
    onGranted?: () => void;
  } = {},
): Promise<Stateid> {
  const openState = lockState.open;
  const type = range.type === "read"
    ? (options.blocking ? LockType.READW_LT : LockType.READ_LT)
    : (options.blocking ? LockType.WRITEW_LT : LockType.WRITE_LT);
  const isNew = lockState.stateid === undefined;
  if (isNew && !introducedLockOwners.has(lockState.owner)) {
    introducedLockOwners.add(lockState.owner);
    m.tracer.emit(
      "owner",
      `new ${lockState.owner.label}`,
      `lock owner for ${openState.path}, open_to_lock_owner4 from ${openState.owner.label}`,
    );
  }
  // open_to_lock_owner4 or exist_lock_owner4 is decided once the lock
  // owner's turn has come (seqidOwnersInTurn): a LOCK queued behind this
  // owner's first one goes as exist_lock_owner4 and takes no turn of the
  // open owner, whose seqid it does not carry (RFC 7530 §16.10.4; the
  // kernel's nfs4_lock_prepare). Until then (`build` called only to look
  // at the ops, run()'s #refuseWhileClosing) the stateid held says it;
  // exist_lock_owner4 only ever with a stateid to send.
  let sendsOpen: boolean | undefined;
  let before: Stateid | undefined;
  let recorded: Stateid | undefined;
  // Recorded while the owner's turn is held (RunOptions.recordUnderOwners),
  // so that its next LOCK or LOCKU is built with this stateid.
  const record = (stateid: Stateid) => {
    if (recorded !== undefined) return;
    recorded = stateid;
    before = lockState.stateid;
    lockState.stateid = newerStateid(lockState.stateid, stateid);
    // Granted (or reclaimed) under the current client ID (StateManager.clientIdGone).
    lockState.clientId = m.client.clientId;
    options.onGranted?.();
  };
  const [, stateid] = await m.run(
    () =>
      [
        putfh(openState.fh),
        lock({
          locktype: type,
          reclaim: options.reclaim ?? false,
          offset: range.offset,
          length: range.length,
          locker: (sendsOpen ?? lockState.stateid === undefined) || lockState.stateid === undefined
            ? {
              newLockOwner: true,
              openSeqid: openState.owner.seqid,
              openStateid: openState.stateid,
              lockSeqid: lockState.owner.seqid,
              // Read at each attempt: recovery may have made a new client ID.
              lockOwner: { clientid: m.client.clientId!, owner: lockState.owner.id },
            }
            : {
              newLockOwner: false,
              lockStateid: lockState.stateid,
              lockSeqid: lockState.owner.seqid,
            },
        }),
      ] as const,
    {
      // 4.0: the lock owner's turn first, then, for open_to_lock_owner4
      // only, the open owner's (seqidOwnersInTurn), as nfs4_lock_prepare
      // waits on them; each advanced only when the LOCK sent carries it.
      seqidOwners: [lockState.owner],
      seqidOwnersInTurn: () => {
        sendsOpen = lockState.stateid === undefined;
        return sendsOpen ? [openState.owner] : [];
      },
      // 4.1: one LOCK or LOCKU of a lock owner at a time, each built with
      // the lock stateid its predecessor's answer left (recordUnderOwners).
      // RFC 8881 §8.2.2: each LOCK and LOCKU moves the lock stateid's seqid
      // on and the server refuses an older one NFS4ERR_OLD_STATEID; sent
      // side by side they carried the same stateid, and all but the first
      // were refused, sent again, refused again while others were in
      // flight, until their retries ran out. Serialised rather than sent
      // again on OLD_STATEID (as READ and WRITE are, run()): each goes once,
      // as on 4.0, where the lock-owner's seqid serialises them (4.1 has
      // none: RFC 8881 §8.13; the lock stateid alone orders a lock owner's
      // LOCKs and LOCKUs of a file, §9).
      // A recovery's re-LOCKs are not queued behind the LOCKs they recover.
      ...(options.inRecovery ? {} : { serialOwners: [lockState.owner] }),
      recordUnderOwners: (values) => record(values[1] as Stateid),
      states: [openState],
      reclaim: options.reclaim ?? false,
      inRecovery: options.inRecovery ?? false,
      final: options.noWait ? NO_WAIT_FINAL : LOCK_FINAL,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.answerWithinMs !== undefined ? { answerWithinMs: options.answerWithinMs } : {}),
      ...(options.onOutcomeUnknown ? { onOutcomeUnknown: options.onOutcomeUnknown } : {}),
      ...(options.partOfRelease ? { partOfRelease: true } : {}),
    },
  );
  record(stateid);
  // A recovery's re-LOCKs are told by it, one line per lock state, old
  // stateid to new (reclaimLocks).
  if (options.untraced) return stateid;
  const what = `${openState.path} ${range.type} ${formatRange(range.offset, range.length)}`;
  m.tracer.emit(
    "lock",
    "LOCK",
    before === undefined
      ? `${what} ${formatStateid(stateid)} (new lock owner ${lockState.owner.label}, from open ${
        formatStateid(openState.stateid)
      })`
      : `${what} ${formatStateid(before)} -> ${
        formatStateid(stateid)
      } (lock owner ${lockState.owner.label})`,
    {
      path: openState.path,
      stateid: formatStateid(stateid),
      ...(before !== undefined ? { before: formatStateid(before) } : {}),
      owner: lockState.owner.label,
      newLockOwner: before === undefined,
    },
  );
  return stateid;
}

/**
 * Lock owners introduced in the trace (`owner new lock-…`), once each: the
 * first LOCK that names one with open_to_lock_owner4 (RFC 7530 §16.10.4,
 * RFC 8881 §18.10.3), as open owners are when made.
 */
const introducedLockOwners = new WeakSet<LockState["owner"]>();

/**
 * An open whose recovery failed is given up (the kernel's
 * nfs4_state_mark_recovery_failed -> NFS_CONTEXT_BAD), and each lock of it
 * that holds a range is lost with it, through the one lock-lost path
 * ({@linkcode markLockLost}: the `lock lost` event with its data, the
 * onLockLost listeners, once). A lock given up already was told of then.
 * Returns how many locks were lost with it.
 */
function markBad(m: StateManager, state: OpenState, error: unknown): number {
  const reason = error instanceof NfsError
    ? `${error.op} -> ${error.statusName}`
    : (error as Error).message;
  // Marked first, so that a listener that looks finds the open unusable.
  state.bad = reason;
  state.reclaim = "none";
  m.tracer.emit("open", "recovery failed, state marked bad", `${state.path}: ${reason}`);
  let lost = 0;
  for (const l of state.locks) {
    if (l.bad === undefined && l.ranges.length > 0) {
      markLockLost(m, l, `open recovery failed: ${reason}`);
      lost++;
    }
    l.bad ??= reason;
    l.reclaim = "none";
  }
  return lost;
}

/**
 * A lock whose recovery failed: the step that failed is traced, and the
 * lock is lost through {@linkcode markLockLost} (the `lock lost` event,
 * the onLockLost listeners), unless it was given up already (told then).
 */
function markLockBad(m: StateManager, lockState: LockState, error: unknown): void {
  const reason = error instanceof NfsError
    ? `${error.op} -> ${error.statusName}`
    : (error as Error).message;
  m.tracer.emit(
    "lock",
    "lock recovery failed, lock marked bad",
    `${lockState.open.path}: ${reason}`,
  );
  if (lockState.bad === undefined && lockState.ranges.length > 0) {
    markLockLost(m, lockState, `lock recovery failed: ${reason}`);
  }
  lockState.bad ??= reason;
  lockState.reclaim = "none";
}

/**
 * TEST_STATEIDS (4.1, RFC 8881 §18.48): ask which of our stateids are still
 * valid; free the invalid ones (FREE_STATEID) and recover their states
 * without grace. The delegations held apart from any open (one whose
 * DELEGRETURN the server refused for now, {@linkcode StrayDelegation}) are
 * tested too: a revoked one is freed and dropped (RFC 8881 §8.2.4,
 * §10.2.1), or SEQ4_STATUS_RECALLABLE_STATE_REVOKED would stay up for it
 * (§18.46.3). How many stateids were found not valid (0: nothing revoked,
 * or nothing held to test).
 */
export async function testStateids(m: StateManager): Promise<number> {
  const entries: { stateid: Stateid; state: OpenState; lock?: LockState; delegation?: true }[] = [];
  for (const state of m.opens) {
    if (state.bad !== undefined || state.closed || state.closing) continue;
    entries.push({ stateid: state.stateid, state });
    for (const l of state.locks) {
      if (l.stateid) entries.push({ stateid: l.stateid, state, lock: l });
    }
    if (state.delegation) {
      entries.push({ stateid: state.delegation.stateid, state, delegation: true });
    }
  }
  // A stateid of a client ID replaced since is gone with it (RFC 8881
  // §8.4.2): not tested, and not freed (FREE_STATEID frees the current
  // client's only, §8.2.4, §18.38); its state is recovered as one that
  // TEST_STATEID found gone, without the round trips.
  const goneWith = (e: (typeof entries)[number]) =>
    m.clientIdGone(
      e.delegation ? e.state.delegation?.clientId : e.lock ? e.lock.clientId : e.state.clientId,
    );
  const gone = entries.filter((e) => goneWith(e) !== undefined);
  entries.splice(0, entries.length, ...entries.filter((e) => goneWith(e) === undefined));
  for (const entry of gone) {
    m.tracer.emit(
      "open",
      `${formatStateid(entry.stateid)} not tested`,
      `${entry.state.path}: ${goneWith(entry)}`,
    );
    if (entry.delegation) {
      m.tracer.emit(
        "deleg",
        "delegation lost with the client ID it was granted to",
        entry.state.path,
      );
      entry.state.delegation = undefined;
    } else if (entry.lock) entry.lock.needsNoGrace("its client ID was replaced", m.clock.now());
    else {
      entry.state.reclaim = "nograce";
      for (const l of entry.state.locks) {
        l.needsNoGrace("its client ID was replaced", m.clock.now());
      }
    }
  }
  const lostBefore = gone.filter((e) => !e.delegation).length;
  const strayList = strayDelegationsToTest(m);
  if (entries.length === 0 && strayList.length === 0) {
    if (lostBefore > 0) {
      m.setFlag("RECLAIM_NOGRACE", `${lostBefore} state(s) of a replaced client ID`);
    }
    return gone.length;
  }
  const answered = await testStateidsOrNotSupported(m, [
    ...entries.map((e) => e.stateid),
    ...strayList.map((s) => s.delegation.stateid),
  ]);
  let statuses = answered?.slice(0, entries.length);
  if (statuses === undefined) {
    // Without TEST_STATEID, any of them may be gone: recover them all
    // without grace (the server refuses what is still held as ours).
    m.tracer.emit("step", "TEST_STATEID not supported", "recovering every state without grace");
    statuses = entries.map(() => S.NFS4ERR_BAD_STATEID);
  }
  // Without TEST_STATEID a stray is kept: it goes back with a DELEGRETURN.
  const strayRevoked = answered === undefined
    ? 0
    : await freeRevokedStrays(m, strayList, answered.slice(entries.length));
  let found = gone.length + strayRevoked;
  let lost = lostBefore;
  for (const [i, entry] of entries.entries()) {
    // The decoder holds the answer to one status per stateid; one missing is
    // not taken as valid.
    const status = statuses[i] ?? S.NFS4ERR_BAD_STATEID;
    if (status === S.NFS4_OK) continue;
    // After an interrupt nothing is dropped unfreed: a revoked stateid is
    // freed by its release (procs.ts freeIfRevoked, RFC 8881 §8.2.4).
    m.throwIfInterrupted();
    lost++;
    found++;
    m.tracer.emit(
      "open",
      `TEST_STATEID ${formatStateid(entry.stateid)} -> ${statusName(status)}`,
      entry.state.path,
    );
    await m.run(() => [freeStateid(entry.stateid)] as const, {
      inRecovery: true,
      final: FREE_STATEID_FINAL,
    }).catch(() => undefined);
    foundGone.add(entry.stateid);
    if (entry.delegation) {
      // A revoked delegation is dropped; the open itself is tested apart
      // (RFC 8881 §8.2.4, §10.2.1).
      m.tracer.emit("deleg", "delegation revoked, dropped", entry.state.path);
      entry.state.delegation = undefined;
      lost--;
    } else if (entry.lock) entry.lock.needsNoGrace("revoked (TEST_STATEID)", m.clock.now());
    else {
      entry.state.reclaim = "nograce";
      for (const l of entry.state.locks) l.needsNoGrace("revoked (TEST_STATEID)", m.clock.now());
    }
  }
  if (lost > 0) m.setFlag("RECLAIM_NOGRACE", `TEST_STATEID: ${lost} stateid(s) revoked`);
  return found;
}

/**
 * The strays TEST_STATEIDS tests: those of a client ID replaced since are
 * gone with it (RFC 8881 §8.4.2), dropped untested and unfreed (as
 * testStateids does with an open's delegation).
 */
function strayDelegationsToTest(m: StateManager): StrayDelegation[] {
  const list = straysOf(m);
  for (const stray of [...list]) {
    const gone = m.clientIdGone(stray.delegation.clientId);
    if (gone === undefined) continue;
    list.splice(list.indexOf(stray), 1);
    m.tracer.emit("deleg", "delegation lost with the client ID it was granted to", stray.path);
  }
  return [...list];
}

/**
 * FREE_STATEID for each stray TEST_STATEID found not valid, dropped
 * (RFC 8881 §8.2.4: a revoked stateid stays the server's until freed);
 * one still valid stays, to go back. How many were found not valid.
 */
async function freeRevokedStrays(
  m: StateManager,
  tested: readonly StrayDelegation[],
  statuses: readonly number[],
): Promise<number> {
  let revoked = 0;
  for (const [i, stray] of tested.entries()) {
    const status = statuses[i] ?? S.NFS4ERR_BAD_STATEID;
    if (status === S.NFS4_OK) continue;
    // After an interrupt it is kept: its release at exit frees it
    // (sendDelegreturn, freeIfRevoked).
    m.throwIfInterrupted();
    revoked++;
    const list = straysOf(m);
    const at = list.indexOf(stray);
    if (at < 0) continue;
    list.splice(at, 1);
    const stateid = formatStateid(stray.delegation.stateid);
    m.tracer.emit("open", `TEST_STATEID ${stateid} -> ${statusName(status)}`, stray.path);
    await m.run(() => [freeStateid(stray.delegation.stateid)] as const, {
      inRecovery: true,
      final: FREE_STATEID_FINAL,
    }).catch(() => undefined);
    m.tracer.emit("deleg", "delegation revoked, dropped", stray.path);
  }
  return revoked;
}

/**
 * DELEGRETURN for every delegation marked recalled (RFC 7530 §10.4.4), and
 * for those held apart from any open ({@linkcode StrayDelegation}). Until
 * none is left: a recall that comes while one goes back (a CB_RECALL, an
 * OPEN reply whose delegation was recalled before it came) is not left for
 * the open's CLOSE.
 */
export async function returnDelegations(m: StateManager): Promise<void> {
  const tried = new Set<OpenState | StrayDelegation>();
  for (;;) {
    const stray = straysOf(m).find((s) => !tried.has(s));
    const state = stray
      ? undefined
      : [...m.opens].find((o) => o.delegation?.recalled === true && !tried.has(o));
    const next = stray ?? state;
    if (next === undefined) return;
    tried.add(next);
    // After an interrupt the rest go back with their opens' releases.
    m.throwIfInterrupted();
    if (stray) await returnStray(m, stray, true);
    else await returnDelegation(m, state!, true);
  }
}

/** One DELEGRETURN; a delegation the server no longer knows is simply dropped. */
export async function returnDelegation(
  m: StateManager,
  state: OpenState,
  inRecovery = false,
): Promise<void> {
  const d = state.delegation;
  if (!d) return;
  state.delegation = undefined;
  let outcome: DelegreturnOutcome;
  try {
    outcome = await sendDelegreturn(m, state.fh, state.path, d, inRecovery);
  } catch (e) {
    // Stopped by the interrupt, not answered by the server: still held,
    // it goes back with the open's release (closeOpen).
    state.delegation = d;
    throw e;
  }
  if (typeof outcome === "string") return;
  // Refused for now (sendDelegreturn): still the server's. An open that
  // stays keeps it, marked recalled, for the next DELEGRETURN step (a recall
  // the server sends again sets it off), the TEST_STATEIDS step and the
  // CLOSE; one on its way out leaves it apart from any open, for the same
  // steps and the release at exit.
  if (!state.closed && !state.closing && state.delegation === undefined) {
    state.delegation = { ...d, recalled: true };
  } else {
    straysOf(m).push({ fh: state.fh, path: state.path, delegation: { ...d, recalled: true } });
  }
}

/**
 * What became of a DELEGRETURN (sendDelegreturn): `kept` says why the
 * server refused it for now.
 */
type DelegreturnOutcome = "returned" | "dropped" | { readonly kept: string };

/**
 * Statuses that refuse a DELEGRETURN for now, not for good: the delegation
 * is still the server's, and is kept to go back later (the kernel's
 * nfs4_delegreturn_done retries NFS4ERR_DELAY without end). Dropped, it
 * would stay on the server until revoked (RFC 8881 §10.2.1), its stateid
 * never freed, and SEQ4_STATUS_RECALLABLE_STATE_REVOKED raised for it
 * until it is (§18.46.3, §8.2.4). NFS4ERR_DELAY is here after run() waited
 * it out until the call's deadline.
 */
const DELEGRETURN_LATER: ReadonlySet<number> = new Set([
  S.NFS4ERR_DELAY,
  S.NFS4ERR_SERVERFAULT,
  S.NFS4ERR_RESOURCE,
  S.NFS4ERR_GRACE,
]);

/**
 * PUTFH, DELEGRETURN for `d` on `fh`. Throws only when an interrupt stopped
 * it unanswered (the caller keeps the delegation, for the release).
 * `kept`: the server refused it for now ({@linkcode DELEGRETURN_LATER}),
 * and the caller keeps the delegation to return it later.
 */
async function sendDelegreturn(
  m: StateManager,
  fh: FileHandle,
  path: string,
  d: Delegation,
  inRecovery: boolean,
): Promise<DelegreturnOutcome> {
  try {
    await m.run(() => [putfh(fh), delegreturn(d.stateid)] as const, {
      inRecovery,
      // A delegation the server revoked or forgot is gone already.
      final: RELEASE_FINAL,
      // Granted under a client ID replaced since: gone with it (the
      // kernel's nfs_delegation_reap_unclaimed frees such delegations
      // without a DELEGRETURN).
      stateGone: () => m.clientIdGone(d.clientId),
    });
    m.tracer.emit(
      "deleg",
      "DELEGRETURN",
      `${path} ${d.type} delegation ${formatStateid(d.stateid)}${d.recalled ? " (recalled)" : ""}`,
    );
    return "returned";
  } catch (e) {
    if (e instanceof StateDroppedError) {
      m.tracer.emit(
        "deleg",
        "dropped",
        `${path} ${d.type} delegation ${
          formatStateid(d.stateid)
        }: ${e.reason}; no DELEGRETURN sent`,
      );
      return "dropped";
    }
    if (inRecovery && m.interrupted && !(e instanceof NfsError)) throw e;
    if (e instanceof NfsError && DELEGRETURN_LATER.has(e.status)) {
      m.tracer.emit(
        "deleg",
        "DELEGRETURN failed, kept",
        `${path} ${d.type} delegation ${formatStateid(d.stateid)}: ${e.message}; ` +
          "sent again later, or freed if the server revokes it",
      );
      m.retryDelegreturnLater();
      return { kept: e.message };
    }
    m.tracer.emit("deleg", "DELEGRETURN failed, dropped", `${path}: ${(e as Error).message}`);
    if (await freeIfRevoked(m, d.stateid, e, d.clientId, true)) {
      m.tracer.emit("deleg", "FREE_STATEID", `${path} ${formatStateid(d.stateid)}`);
    }
    return "dropped";
  }
}

/**
 * A delegation this client holds apart from any open state, to go back at
 * once: a second delegation an OPEN granted on a file whose state holds one
 * already (the state keeps the first), or one a re-open replaced. Kept per
 * manager until its DELEGRETURN (the DELEGRETURN step, or the release at
 * exit).
 */
interface StrayDelegation {
  readonly fh: FileHandle;
  readonly path: string;
  readonly delegation: Delegation;
}

const strays = new WeakMap<StateManager, StrayDelegation[]>();

function straysOf(m: StateManager): StrayDelegation[] {
  let list = strays.get(m);
  if (!list) {
    list = [];
    strays.set(m, list);
  }
  return list;
}

function addStray(m: StateManager, state: OpenState, d: Delegation, why: string): void {
  straysOf(m).push({ fh: state.fh, path: state.path, delegation: { ...d, recalled: true } });
  m.tracer.emit(
    "deleg",
    "delegation to return at once",
    `${state.path} ${d.type} delegation ${formatStateid(d.stateid)}: ${why}`,
  );
  m.setFlag("DELEGRETURN", `${why}: ${state.path}`);
}

/** One stray's DELEGRETURN: why the server refused it for now, if it did (then it is kept). */
async function returnStray(
  m: StateManager,
  stray: StrayDelegation,
  inRecovery: boolean,
): Promise<string | undefined> {
  const list = straysOf(m);
  const i = list.indexOf(stray);
  if (i < 0) return undefined;
  list.splice(i, 1);
  let outcome: DelegreturnOutcome;
  try {
    outcome = await sendDelegreturn(m, stray.fh, stray.path, stray.delegation, inRecovery);
  } catch (e) {
    list.push(stray);
    throw e;
  }
  if (typeof outcome === "string") return undefined;
  // Refused for now: kept for a later DELEGRETURN step, TEST_STATEIDS, exit.
  list.push(stray);
  return outcome.kept;
}

/** How the OPEN that brought a delegation (or none) came to be sent. */
export type OpenPurpose =
  /** An OPEN of the application's (a new open, or an upgrade of one held). */
  | "open"
  /** A reboot reclaim, OPEN(CLAIM_PREVIOUS). */
  | "previous"
  /** A re-open without grace (CLAIM_FH, or CLAIM_NULL by name). */
  | "nograce";

/**
 * Records the delegation an OPEN reply grants, or what its absence means
 * (RFC 7530 §10.4, §16.16; RFC 8881 §10.4, §18.16); `attrs` are the OPEN's
 * GETATTR, whose change and size CB_GETATTR reports (callback.ts).
 *
 * - A delegation that comes already recalled goes back at once: the reply
 *   says so (`recall`, a reclaim's "pre-recalled" flag; the kernel's
 *   nfs4_opendata_check_deleg honours it on any OPEN), or the server's
 *   CB_RECALL of it came before the reply (RFC 7530 §10.4.5; callback.ts).
 * - One granted on a file whose state holds another delegation already
 *   (an upgrade's OPEN) goes back at once; the state keeps the first.
 * - No delegation: after a reboot reclaim (CLAIM_PREVIOUS) the one held is
 *   gone ("not reclaimed"); after a re-open without grace it is gone only
 *   when the client ID changed since it was granted (the lease was lost). A
 *   re-open under the same client ID happens when only the open was lost
 *   (TEST_STATEID found the delegation valid, RFC 8881 §8.2.4), and a
 *   server does not grant a delegation the client holds already: it is
 *   kept, and goes back as usual (CLOSE, recall, exit). An upgrade's OPEN
 *   keeps it too.
 */
export function noteDelegation(
  m: StateManager,
  state: OpenState,
  result: OpenResult,
  purpose: OpenPurpose = "open",
  attrs?: FileAttributes,
): void {
  const d = result.delegation;
  const held = state.delegation;
  if (
    d.type !== DelegationType.OPEN_DELEGATE_READ && d.type !== DelegationType.OPEN_DELEGATE_WRITE
  ) {
    if (held === undefined) return;
    if (purpose === "previous") {
      // A reclaim that did not get the delegation back.
      m.tracer.emit("deleg", "delegation not reclaimed", state.path);
      state.delegation = undefined;
    } else if (purpose === "nograce" && held.clientId !== m.client.clientId) {
      m.tracer.emit("deleg", "delegation lost with the client ID it was granted to", state.path);
      state.delegation = undefined;
    } else if (purpose === "nograce") {
      m.tracer.emit(
        "deleg",
        "delegation kept",
        `${state.path} ${formatStateid(held.stateid)}: re-opened under the same client ID`,
      );
    }
    return;
  }
  const type = d.type === DelegationType.OPEN_DELEGATE_READ ? "read" : "write";
  const same = held !== undefined && sameStateOther(held.stateid, d.stateid);
  const granted: Delegation = {
    type,
    stateid: same ? newerStateid(held.stateid, d.stateid) : d.stateid,
    recalled: same ? held.recalled : false,
    // The same delegation again keeps its grant's change attribute (the
    // server's record of it is from then, RFC 7530 §10.4.3). Another one,
    // re-granted by a reclaim or a re-open, is recorded by the server as of
    // that OPEN: the reclaim's GETATTR says what that is; without one the
    // change is not known (what was held may be from before a reboot, which
    // would tell the server the file was modified here), and the
    // delegation goes back at the first CB_GETATTR (callback.ts).
    change: same
      ? held.change ?? attrs?.change
      : purpose === "open"
      ? attrs?.change ?? held?.change
      : attrs?.change,
    size: attrs?.size ?? (same || purpose === "open" ? held?.size : undefined),
    clientId: m.client.clientId,
  };
  const recalledEarly = m.callbacks.takePendingRecall(d.stateid, state.fh);
  m.tracer.emit(
    "deleg",
    `${type} delegation granted`,
    `${state.path} ${formatStateid(d.stateid)}`,
    {
      path: state.path,
      stateid: formatStateid(d.stateid),
      recall: d.recall,
    },
  );
  if (held !== undefined && !same) {
    if (purpose === "open") {
      addStray(m, state, granted, "a second delegation on a file whose open holds one");
      return;
    }
    // A reclaim or re-open brought another: it replaces the one held, which
    // goes back if it may still be the server's (the same client ID).
    if (held.clientId === m.client.clientId && purpose === "nograce") {
      addStray(m, state, held, "replaced by the re-open's delegation");
    }
  }
  state.delegation = granted;
  const why = d.recall
    ? "the OPEN reply grants it recalled"
    : recalledEarly
    ? "recalled before the OPEN reply that grants it came"
    : undefined;
  if (why !== undefined && !granted.recalled) {
    granted.recalled = true;
    m.tracer.emit("deleg", "delegation to return at once", `${state.path}: ${why}`);
    m.setFlag("DELEGRETURN", `${why}: ${state.path}`);
  }
}

// ----------------------------------------------------------- exit

/**
 * Unlocks and closes every state, then releases owners / session / client
 * ID. Rounds until no open is left: an OPEN whose reply lands while the
 * release runs is recorded after the first round began, and is closed in
 * the next (each state is tried once; a round that releases nothing ends
 * it).
 */
export async function releaseAll(m: StateManager): Promise<void> {
  const tried = new Set<OpenState>();
  for (;;) {
    const round = [...m.opens].filter((o) => !tried.has(o));
    if (round.length === 0) break;
    let released = 0;
    for (const state of round) {
      tried.add(state);
      try {
        await closeOpen(m, state, { all: true });
        released++;
      } catch (e) {
        m.tracer.emit("error", `CLOSE ${state.path} failed`, (e as Error).message);
        m.notReleased.push({ what: `CLOSE ${state.path}`, why: (e as Error).message });
      }
    }
    if (released === 0) break;
  }
  for (const stray of [...straysOf(m)]) {
    try {
      const refused = await returnStray(m, stray, false);
      // Still the server's: it goes when the lease ends (or is revoked).
      if (refused !== undefined) {
        m.notReleased.push({ what: `DELEGRETURN ${stray.path}`, why: refused });
      }
    } catch (e) {
      m.notReleased.push({ what: `DELEGRETURN ${stray.path}`, why: (e as Error).message });
    }
  }
  const c = m.client;
  if (c.clientId === undefined) return;
  if (m.minorVersion === 0) {
    for (const owner of m.lockOwnersUsed) await releaseLockOwner(m, owner, c.clientId);
    return;
  }
  const destroyed = await destroySessionNow(m);
  if (destroyed.failed !== undefined) {
    m.notReleased.push({ what: "DESTROY_SESSION", why: destroyed.failed });
  }
  if (c.unknownState !== undefined) {
    // RFC 8881 §18.50.3: a client ID that still has state is not to be
    // destroyed (the server answers NFS4ERR_CLIENTID_BUSY). Ganesha 4.3
    // destroys it all the same and keeps its locks for good; left alone, the
    // client ID and what it holds go when the lease ends.
    m.tracer.emit(
      "clid",
      "DESTROY_CLIENTID not sent",
      `${c.unknownState}; it is freed when the lease expires (${c.leaseTime} s)`,
    );
    // Left on the server, with what it holds, until the lease ends: said
    // as a refused DESTROY_CLIENTID is.
    m.notReleased.push({ what: "DESTROY_CLIENTID", why: `not sent: ${c.unknownState}` });
    c.clientId = undefined;
    return;
  }
  try {
    const reply = await m.sendSessionless([destroyClientid(c.clientId)]);
    const failed = failureOf(reply);
    m.tracer.emit(
      "clid",
      failed ? `DESTROY_CLIENTID -> ${statusName(failed.status)}` : "DESTROY_CLIENTID ok",
      `clientid ${c.clientIdText}`,
    );
    // Refused: the client ID and what it holds stay until the lease ends,
    // and the caller is told so, as when no answer came. Not when it is gone
    // already (NFS4ERR_STALE_CLIENTID), nor for NFS4ERR_CLIENTID_BUSY (RFC
    // 8881 §18.50.3) that the session explains, which the server still
    // holds when DESTROY_SESSION could not go through (answered, and not
    // NFS4ERR_BADSESSION): the session and client ID lapse with the lease,
    // holding nothing else. CLIENTID_BUSY after the session is destroyed
    // says the server holds state of this client it was not asked to
    // release: that is reported.
    const explained = failed?.status === S.NFS4ERR_STALE_CLIENTID ||
      (failed?.status === S.NFS4ERR_CLIENTID_BUSY && destroyed.left === true);
    if (failed && !explained) {
      // A CREATE_SESSION of this client ID that never got its answer (the
      // deadline came, or the release window after an interrupt ended,
      // first: ClientRecord.createSessionUnanswered) may have made a
      // session whose id this client never learnt. DESTROY_SESSION must
      // name the session (RFC 8881 §18.37), so none was sent for it; the
      // DESTROY_CLIENTID above was sent all the same, and frees the client
      // ID when the server made no session. When it did, the server
      // refuses it while that session stands (NFS4ERR_CLIENTID_BUSY, RFC
      // 8881 §18.50.3): the session and the client ID are left, holding no
      // open, lock or delegation, until the server expires the unrenewed
      // lease (§8.3). Asking for the session again (the same csa_sequence,
      // answered from the replay cache, §18.36.4) would be one more request
      // to a server that had not answered in time, after the command gave up.
      const unanswered = c.createSessionUnanswered?.clientId === c.clientId;
      m.notReleased.push({
        what: "DESTROY_CLIENTID",
        why: `${failed.name} -> ${statusName(failed.status)}${
          unanswered && failed.status === S.NFS4ERR_CLIENTID_BUSY
            ? ": the session of a CREATE_SESSION that got no answer is left, " +
              "with the client ID, until the lease expires"
            : ""
        }`,
      });
    }
  } catch (e) {
    m.tracer.emit("clid", "DESTROY_CLIENTID failed", (e as Error).message);
    m.notReleased.push({ what: "DESTROY_CLIENTID", why: (e as Error).message });
  }
  c.clientId = undefined;
}

/**
 * 4.0 RELEASE_LOCKOWNER (RFC 7530 §16.37) of a lock owner a LOCK reached,
 * after every CLOSE: its answer is looked at. Refused NFS4ERR_LOCKS_HELD
 * (§16.37.4: the server still holds a lock of that owner, one this client
 * does not know of or could not unlock) or with any other status, or not
 * answered, the owner (and such a lock) stays until the lease ends: traced
 * with the status and reported with what is not released
 * (StateManager.notReleased: client.close()'s leftOnServer, a command's
 * `not released` line). Not when the client ID is gone already
 * (NFS4ERR_STALE_CLIENTID, NFS4ERR_EXPIRED): its owners went with it.
 */
async function releaseLockOwner(
  m: StateManager,
  owner: LockOwner,
  clientid: bigint,
): Promise<void> {
  const what = `RELEASE_LOCKOWNER ${owner.label}`;
  let failed;
  try {
    failed = failureOf(await m.send([releaseLockowner({ clientid, owner: owner.id })]));
  } catch (e) {
    m.tracer.emit("owner", "RELEASE_LOCKOWNER failed", `${owner.label}: ${(e as Error).message}`);
    m.notReleased.push({ what, why: (e as Error).message });
    return;
  }
  if (!failed) {
    m.tracer.emit("owner", what);
    return;
  }
  const status = statusName(failed.status);
  const gone = failed.status === S.NFS4ERR_STALE_CLIENTID || failed.status === S.NFS4ERR_EXPIRED;
  const why = failed.status === S.NFS4ERR_LOCKS_HELD
    ? `${status}: the server still holds a lock of this owner`
    : gone
    ? `${status}: the client ID is gone, and its lock owners with it`
    : `${failed.name} -> ${status}`;
  m.tracer.emit("owner", `RELEASE_LOCKOWNER -> ${status}`, `${owner.label}: ${why}`);
  if (!gone) m.notReleased.push({ what, why });
}

/**
 * The release of each open state in progress (closeOpen): one at a time
 * per state, so each decides on the users the one before left, and a CLOSE
 * never races an OPEN_DOWNGRADE of the same state (on 4.1 nothing else
 * orders them: the one sent with the older stateid would be refused
 * NFS4ERR_OLD_STATEID, RFC 8881 §8.2.2). Never rejects.
 */
const releasing = new WeakMap<OpenState, Promise<unknown>>();

/**
 * The release of `state` on its way (a CLOSE, an OPEN_DOWNGRADE), settling
 * when it has ended (it never rejects), or undefined: for the shapes that
 * CLOSE inside a larger COMPOUND (files.ts readThenClose, small_upload.ts),
 * which count the users after it.
 */
export function releaseInProgress(state: OpenState): Promise<unknown> | undefined {
  return releasing.get(state);
}

/**
 * One user of `state` closes, giving up `options.share` (the share access
 * and deny it opened with; a caller that does not say leaves the union of
 * the others as wide as it was). Users left: OPEN_DOWNGRADE to what they
 * hold, when that is less ({@linkcode downgradeOpen}). The last user, or
 * `all` (the release at exit): LOCKU every held range, then CLOSE (RFC 7530
 * §16.4: CLOSE with locks held fails).
 */
export function closeOpen(
  m: StateManager,
  state: OpenState,
  options: { all?: boolean; share?: ShareModes } = {},
): Promise<void> {
  // The release at exit does not wait: an OPEN_DOWNGRADE sent is answered
  // before it begins (shutdown() waits for the state changes in flight),
  // and one waiting out NFS4ERR_DELAY is refused when it would go again.
  if (options.all) return closeOpenNow(m, state, options);
  const before = releasing.get(state);
  const release = before === undefined
    ? closeOpenNow(m, state, options)
    : before.then(() => closeOpenNow(m, state, options));
  const settled = release.catch(() => undefined);
  releasing.set(state, settled);
  void settled.then(() => {
    if (releasing.get(state) === settled) releasing.delete(state);
  });
  return release;
}

async function closeOpenNow(
  m: StateManager,
  state: OpenState,
  options: { all?: boolean; share?: ShareModes },
): Promise<void> {
  if (state.closed) return;
  if (state.users > 1 && !options.all) {
    state.dropUser(options.share);
    await downgradeOpen(m, state);
    return;
  }
  // The release is on its way from here (DELEGRETURN, LOCKUs, CLOSE): a
  // recovery meanwhile does not re-make the open only for it to be closed
  // (StateManager.markAllForReclaim, run()'s recover-state), and once the
  // client ID is replaced, what is left is dropped, not sent.
  const wasClosing = state.closing;
  state.closing = true;
  let answered = false;
  try {
    await releaseOpen(m, state);
    answered = true;
  } finally {
    // No answer (none came, a stop): the open may still be held, and is
    // no longer taken for one being closed.
    if (!answered) state.closing = wasClosing;
  }
  forgetOpen(m, state);
}

/** closeOpenNow()'s release of the last user: DELEGRETURN, LOCKUs, CLOSE. */
async function releaseOpen(m: StateManager, state: OpenState): Promise<void> {
  if (state.delegation) {
    if (state.bad === undefined || state.delegation.clientId === m.client.clientId) {
      // This client keeps no cached data or local opens under a delegation,
      // so it goes back before the CLOSE (RFC 7530 §10.4.4). A bad open's
      // too: the open was lost, but a delegation of the current client ID
      // may still be the server's, and is not left there. One of a client
      // ID replaced since is dropped, not sent (sendDelegreturn).
      await returnDelegation(m, state);
    } else {
      // Granted under an earlier client ID: gone from the server with it.
      state.delegation = undefined;
    }
  }
  if (state.bad !== undefined) {
    // Recovery gave it up: the server holds no open under this stateid (a
    // reclaim refused, or its client ID replaced), and a CLOSE would only
    // be refused. Said once, as every state's end is traced.
    const gone = m.clientIdGone(state.clientId);
    m.tracer.emit(
      "open",
      "not closed",
      `${state.describe()}: ${state.bad}${gone !== undefined ? `; ${gone}` : ""}; no CLOSE sent`,
      { path: state.path, stateid: formatStateid(state.stateid), reason: state.bad },
    );
    return;
  }
  for (const lockState of state.locks) {
    const settledByLock = await settleUnknownLocks(m, lockState);
    for (const range of [...lockState.ranges]) {
      await unlockRange(m, lockState, range, { closing: true }).catch((e) => {
        const gone = e instanceof NfsError &&
          (STATEID_GONE.has(e.status) || e.status === S.NFS4ERR_STALE_CLIENTID);
        // The held ranges are merged (lock_ranges.ts): one that covers
        // bytes a settle's LOCK took is such a range.
        const bySettle = [...settledByLock].some((s) => rangesOverlap(s, range));
        if (bySettle && !gone) {
          // The settle's LOCK may have taken this lock where there was
          // none (settleUnknownLocks): not unlocked, it stays until the
          // lease ends, and is reported so. Not when the server says the
          // lock state or the client ID is gone (with the lock).
          m.notReleased.push({
            what: `LOCKU ${state.path} ${range.type} ${formatRange(range.offset, range.length)}`,
            why: `of a lock taken to settle one whose answer never came: ${
              e instanceof NfsError ? `${e.op} -> ${e.statusName}` : (e as Error).message
            }`,
          });
        }
        // The CLOSE says what the server still holds (NFS4ERR_LOCKS_HELD).
        if (!(e instanceof NfsError)) return;
        const told = refusal(
          e,
          "LOCKU",
          `${state.path} ${range.type} ${formatRange(range.offset, range.length)}`,
        );
        m.tracer.emit("lock", told.event, told.detail);
      });
    }
  }
  const owner = state.owner;
  let refused: unknown;
  let unlockedForLocksHeld = false;
  try {
    for (;;) {
      try {
        await m.run(
          () => [putfh(state.fh), close({ seqid: owner.seqid, stateid: state.stateid })] as const,
          {
            seqidOwners: [owner],
            states: [state],
            // The server no longer has the state: nothing to close, and no
            // reason to recover it first. NFS4ERR_OLD_STATEID too, after a
            // change of the open that got no answer (below).
            final: state.unansweredChanges > 0 ? RELEASE_FINAL_OR_OLD : RELEASE_FINAL,
            // Made under a client ID replaced since (RFC 8881 §8.4.2, RFC 7530
            // §9.6.2): nothing of it is left to close.
            stateGone: () => m.clientIdGone(state.clientId),
          },
        );
        break;
      } catch (e) {
        if (
          e instanceof NfsError && e.op === "CLOSE" && e.status === S.NFS4ERR_LOCKS_HELD &&
          !unlockedForLocksHeld
        ) {
          // The server still holds a lock of this open (RFC 7530 §16.2.4,
          // RFC 8881 §18.2.4: no CLOSE while locks are held): LOCKU all of
          // the file for each lock owner it knows a stateid of, as the
          // kernel's close unlocks the whole file (locks_remove_posix), and
          // CLOSE once more. Once: a lock still held then is one this
          // client has no stateid for, and the CLOSE is reported refused.
          unlockedForLocksHeld = true;
          if (await unlockWholeFile(m, state)) {
            m.tracer.emit(
              "retry",
              "CLOSE -> NFS4ERR_LOCKS_HELD",
              `${state.path}: the whole file unlocked; CLOSE again`,
            );
            continue;
          }
        }
        if (
          !(e instanceof NfsError) || e.op !== "CLOSE" || e.status !== S.NFS4ERR_OLD_STATEID ||
          state.unansweredChanges === 0
        ) throw e;
        // An OPEN_DOWNGRADE of this open went unanswered (its reply lost
        // past the deadline, stopped in flight) and the server ran it: its
        // stateid's seqid moved on by one that this client never saw (RFC
        // 7530 §9.1.4.2, RFC 8881 §8.2.2), and the CLOSE with the one
        // before is refused for good. The next seqid, as the kernel's
        // nfs4_refresh_open_old_stateid takes it (once per change left
        // unanswered); the refused CLOSE used its owner seqid on 4.0 (RFC
        // 7530 §9.1.7: NFS4ERR_OLD_STATEID is not among those that do not),
        // so the next goes with the next one.
        state.unansweredChanges--;
        const before = formatStateid(state.stateid);
        state.stateid = { seqid: (state.stateid.seqid + 1) >>> 0, other: state.stateid.other };
        m.tracer.emit(
          "retry",
          "CLOSE -> NFS4ERR_OLD_STATEID",
          `${state.path} ${before}: a change of the open whose answer never came ran; ` +
            `again with ${formatStateid(state.stateid)}`,
        );
      }
    }
  } catch (e) {
    if (e instanceof StateDroppedError) {
      m.tracer.emit(
        "open",
        "dropped",
        `${state.path} ${formatStateid(state.stateid)}: ${e.reason}; no CLOSE sent`,
      );
      return;
    }
    // The server no longer knows the state (it expired): nothing to close.
    // NFS4ERR_LOCKS_HELD: it holds a lock this client does not know of (a
    // LOCK stopped in flight that the server ran); the lease's end frees it.
    if (!(e instanceof NfsError)) throw e;
    refused = e;
    const told = refusal(e, "CLOSE", state.path);
    m.tracer.emit("open", told.event, told.detail);
    if (e.status === S.NFS4ERR_LOCKS_HELD) {
      m.client.unknownState = `${state.path}: the server holds a lock this client does not know of`;
    }
    // Refused for any other reason than the state being gone already
    // (NFS4ERR_BAD_SEQID, NFS4ERR_LOCKS_HELD, a SEQUENCE that failed): the
    // open, and what it holds, stays on the server until the lease ends,
    // and the caller is told so (client.close()'s leftOnServer).
    if (!RELEASE_FINAL.has(e.status) && e.status !== S.NFS4ERR_STALE_CLIENTID) {
      m.notReleased.push({
        what: `CLOSE ${state.path}`,
        why: e.op === "SEQUENCE" ? `${told.event}: CLOSE not run` : told.event,
      });
    }
  }
  if (refused === undefined) {
    m.tracer.emit("open", "CLOSE", `${state.path} ${formatStateid(state.stateid)}`);
  } else if (await freeIfRevoked(m, state.stateid, refused, state.clientId)) {
    m.tracer.emit("open", "FREE_STATEID", `${state.path} ${formatStateid(state.stateid)}`);
  }
}

/**
 * After CLOSE -> NFS4ERR_LOCKS_HELD (releaseOpen): LOCKU of the whole file
 * (offset 0, length all ones: every byte, RFC 7530 §16.12, RFC 8881 §18.12)
 * for each lock owner of `state` with a stateid, whatever ranges this
 * client knows of. Whether any LOCKU was answered NFS4_OK: only then is the
 * CLOSE worth sending again.
 */
async function unlockWholeFile(m: StateManager, state: OpenState): Promise<boolean> {
  let unlocked = false;
  for (const lockState of state.locks) {
    if (lockState.stateid === undefined) continue;
    const whole: LockRange = { type: "write", offset: 0n, length: NFS4_UINT64_MAX };
    try {
      // Only a LOCKU answered makes the CLOSE worth sending again.
      if (await unlockRange(m, lockState, whole, { closing: true })) unlocked = true;
    } catch (e) {
      // Not unlocked: the CLOSE's refusal stands, and is reported.
      const what = `${state.path} ${formatRange(0n, NFS4_UINT64_MAX)}`;
      if (e instanceof NfsError) {
        const told = refusal(e, "LOCKU", what);
        m.tracer.emit("lock", told.event, told.detail);
      } else {
        m.tracer.emit("lock", "LOCKU failed", `${what}: ${(e as Error).message}`);
      }
    }
  }
  return unlocked;
}

/**
 * A release's refusal as the trace tells it: `OP -> STATUS` with `what`,
 * or, when the status is the SEQUENCE's (4.1: it failed, so nothing after
 * it ran, RFC 8881 §18.46.3; a lease the server says expired, a session it
 * no longer has, after an interrupt when no recovery is made for the
 * releases), `SEQUENCE -> STATUS` with `what: OP not run`, as run() and the
 * `ops` trace name a failed SEQUENCE.
 */
function refusal(e: NfsError, op: string, what: string): { event: string; detail: string } {
  return e.op === "SEQUENCE"
    ? { event: `SEQUENCE -> ${e.statusName}`, detail: `${what}: ${op} not run` }
    : { event: `${op} -> ${e.statusName}`, detail: what };
}

/**
 * The least of the release window (StateManager.releaseEndsAt) a settle's
 * LOCK is started with: it and its LOCKU are two more round trips, each
 * given at least the 100 ms run() leaves a last request before a caller's
 * deadline (LAST_SEND_ROOM_MS), with 50 ms over for what runs between
 * them. Twice the LOCKT's round trip just before, when that is more.
 */
const SETTLE_LOCK_ROOM_MS = 250;

/**
 * Before the CLOSE, the ranges a first LOCK of `lockState` may have been
 * granted without this client knowing (LockState.unsettled: its answer
 * never came, so no lock stateid either): does the server hold them for
 * this lock owner? LOCKT of a write lock over the range by another lock
 * owner of this client (RFC 7530 §16.11; a lock of any type conflicts with
 * it) answers with no conflict, or with one conflicting lock (its owner,
 * range and type, RFC 7530 §16.11.4, RFC 8881 §18.11.4). No conflict, or
 * another owner's lock that excludes ours (any lock, for a write range; a
 * write lock, for a read range: read locks are shared, write locks
 * exclusive, RFC 7530 §16.10.4): the LOCK was not granted, nothing to
 * release. Another owner's read lock, when the range is a read lock,
 * settles nothing: read locks of several owners coexist, and LOCKT names
 * only one of them, so ours may be there too. Then, as for this owner's lock (or a
 * holder the server does not name: Ganesha's placeholder owner, client ID
 * 0), the same LOCK is sent again under the same owner (noWait) to learn
 * the lock stateid: a lock owner's own locks never conflict with its
 * request (RFC 7530 §16.10.5, RFC 8881 §18.10.4), so where the first was
 * granted it changes nothing the server holds (on 4.0 with
 * open_to_lock_owner4 and the owners' seqids taken as run, which a server
 * that ran the first expects, RFC 7530 §9.1.7; on 4.1 the server finds the
 * lock owner it made, RFC 8881 §18.10.3). Where the first never ran, it
 * takes for a moment the lock the user asked for (a read lock beside the
 * others', or the placeholder's range), which the LOCKU below releases at
 * once: nobody else's lock changes. Its range is then unlocked (LOCKU) with
 * the rest, and the CLOSE is not refused NFS4ERR_LOCKS_HELD, leaving the
 * lock until the lease ends (and the client ID, not destroyed then, RFC
 * 8881 §18.50.3). The kernel lets an interrupted LOCK finish and unlocks
 * what it took (nfs4_lock_release); this client gives a LOCK in flight the
 * release window after Ctrl-C, and settles here what a deadline (`lock -w`)
 * or a lost reply left. A range of a client ID replaced since is gone with
 * it; anything that fails here leaves it to the CLOSE's
 * NFS4ERR_LOCKS_HELD, as before.
 *
 * Returns the ranges for which such a LOCK was sent (granted, or its
 * answer lost): one whose LOCKU is not confirmed after it may be a lock
 * this settle took where there was none, left until the lease ends, and
 * the caller reports it (StateManager.notReleased); a LOCK whose outcome
 * is unknown is reported here, and so is a range whose LOCK is not started
 * because too little of the release window is left for it and its LOCKU
 * (SETTLE_LOCK_ROOM_MS).
 */
async function settleUnknownLocks(m: StateManager, lockState: LockState): Promise<Set<LockRange>> {
  const sent = new Set<LockRange>();
  if (lockState.unsettled.length === 0) return sent;
  const ranges = lockState.unsettled.splice(0);
  const path = lockState.open.path;
  const gone = m.clientIdGone(lockState.clientId);
  for (const range of ranges) {
    const what = `${path} ${range.type} ${formatRange(range.offset, range.length)}`;
    if (holdsRange(lockState.ranges, range)) continue;
    if (gone !== undefined) {
      m.tracer.emit("lock", "dropped", `${what}: ${gone}; nothing to settle`);
      continue;
    }
    let outcomeUnknown = false;
    try {
      if (lockState.stateid === undefined) {
        const asked = m.clock.now();
        const holder = await lockHolder(m, lockState, range);
        const lockTripMs = m.clock.now() - asked;
        if (holder === "none" || holder === "another") {
          m.tracer.emit(
            "lock",
            "settled: not granted",
            `${what}: LOCKT finds ${
              holder === "none" ? "no lock there" : "another owner's lock"
            }; the LOCK whose answer never came did not take it`,
          );
          continue;
        }
        // The room is checked first: a LOCK not sent is not announced.
        const needs = Math.max(SETTLE_LOCK_ROOM_MS, 2 * lockTripMs);
        const left = m.releaseEndsAt === undefined ? undefined : m.releaseEndsAt - m.clock.now();
        if (left !== undefined && left < needs) {
          // Not started: a LOCK the window's end cuts off may be granted
          // all the same, a lock taken where there may have been none and
          // never released, the very thing this settle is for. Left as the
          // first LOCK left it, and reported as a cut-off settle is.
          const why = `${ms(Math.max(0, left))} of the release window left, ` +
            `less than the ${ms(needs)} a LOCK and its LOCKU need`;
          m.tracer.emit("lock", "not settled", `${what}: LOCK not sent: ${why}`);
          m.notReleased.push({
            what: `LOCK ${what}`,
            why: `whose answer never came, not settled (${why}); ` +
              // LOCKT named this lock owner: the server holds it.
              `the server ${holder === "ours" ? "holds" : "may hold"} it until the lease ends`,
          });
          continue;
        }
        if (holder === "shared") {
          m.tracer.emit(
            "lock",
            "settle",
            `${what}: LOCKT finds another owner's read lock, beside which ours may be held; ` +
              "LOCK again to learn it (taking it a moment if it was not), then LOCKU",
          );
        }
        await lockRange(m, lockState, range, {
          noWait: true,
          partOfRelease: true,
          onOutcomeUnknown: () => {
            outcomeUnknown = true;
          },
        });
        m.lockOwnersUsed.add(lockState.owner);
        sent.add(range);
      }
      // With a lock stateid (learnt now, or by a LOCK of the same owner
      // since): unlocked with the rest.
      recordLocked(lockState.ranges, range);
      m.tracer.emit(
        "lock",
        "settled: held",
        `${what} (${lockState.owner.label}): the server holds it; unlocked before the CLOSE`,
      );
    } catch (e) {
      const why = e instanceof NfsError ? `${e.op} -> ${e.statusName}` : (e as Error).message;
      m.tracer.emit("lock", "not settled", `${what}: ${why}`);
      if (outcomeUnknown) {
        // The settle's own LOCK may have been granted (its answer never
        // came, the release window ended): a lock this client may have
        // taken where there was none, until the lease ends.
        m.lockOwnersUsed.add(lockState.owner);
        m.notReleased.push({
          what: `LOCK ${what}`,
          why: `sent to settle a lock whose answer never came, and unanswered too (${why}); ` +
            "the server may hold it until the lease ends",
        });
      }
    }
  }
  return sent;
}

/**
 * Who holds `range` as far as LOCKT says, tested for a write lock by the
 * client's own test owner (StateManager.lockOwner, never a lock state's):
 * `none`, `ours` (the lock owner of `lockState`), `another` (another
 * owner's lock that excludes ours), `shared` (another owner's read lock,
 * when `range` is a read lock: ours may be held beside it), or `unknown`
 * (a holder the server does not name, Ganesha's placeholder).
 */
async function lockHolder(
  m: StateManager,
  lockState: LockState,
  range: LockRange,
): Promise<"none" | "ours" | "another" | "shared" | "unknown"> {
  try {
    await m.run(
      () =>
        [
          putfh(lockState.open.fh),
          lockt({
            locktype: LockType.WRITE_LT,
            offset: range.offset,
            length: range.length,
            owner: { clientid: m.client.clientId!, owner: m.lockOwner.id },
          }),
        ] as const,
      { final: LOCK_FINAL, partOfRelease: true },
    );
    return "none";
  } catch (e) {
    if (!(e instanceof NfsError) || e.status !== S.NFS4ERR_DENIED) throw e;
    const denied = e.detail as LockDenied | undefined;
    if (!denied || denied.owner.clientid === 0n) return "unknown";
    if (
      denied.owner.clientid === m.client.clientId &&
      bytesEqual(denied.owner.owner, lockState.owner.id)
    ) return "ours";
    const theirsIsRead = denied.locktype === LockType.READ_LT ||
      denied.locktype === LockType.READW_LT;
    return range.type === "read" && theirsIsRead ? "shared" : "another";
  }
}

/**
 * OPEN_DOWNGRADE (RFC 7530 §16.19, RFC 8881 §18.18) of an open whose users
 * now hold less than it does: a user closed, and the union of the shares
 * of those left (RFC 7530 §9.11, RFC 8881 §9.7) is narrower than the
 * state's access and deny. As the kernel's nfs4_close_prepare, which sends
 * OPEN_DOWNGRADE in place of CLOSE while n_rdonly, n_wronly or n_rdwr
 * leave a narrower mode in use; the kernel never asks for a deny, so ours
 * are counted as the RFC has them, beside the access.
 *
 * It never fails the close that asked for it: that user's part is done
 * locally. Refused for good (NFS4ERR_INVAL: RFC 7530 §16.19.4 wants the
 * union of some subset of the OPENs in effect, and a server that saw only
 * a recovery's one re-open with the whole union may refuse any narrower;
 * any status the table does not recover from), the state keeps its wider
 * access, as the server does, until the last CLOSE releases it. Statuses go
 * through run() as any op's: stateid errors recover the state (re-opened
 * with the wider access it still has) and the downgrade goes again, DELAY
 * is waited out. A state that is bad, closed or being closed is not
 * downgraded, nor anything once the client is being closed or interrupted
 * (the release at exit closes every open).
 */
async function downgradeOpen(m: StateManager, state: OpenState): Promise<void> {
  if (state.closed || state.closing || state.bad !== undefined) return;
  if (m.closing || m.interrupted) return;
  const held: ShareModes = { access: state.access, deny: state.deny };
  const inUse = state.sharesInUse();
  // Only ever narrower: every user's share is in the state's (recordOpen
  // adds each upgrade's), and bits the state lacks would be an upgrade,
  // which OPEN_DOWNGRADE cannot make.
  const access = inUse.access & held.access;
  const deny = inUse.deny & held.deny;
  if (access === held.access && deny === held.deny) return;
  const owner = state.owner;
  const before = formatStateid(state.stateid);
  try {
    const [, stateid] = await m.run(
      () =>
        [
          putfh(state.fh),
          openDowngrade({
            stateid: state.stateid,
            // A seqid-mutating op on 4.0 (RFC 7530 §9.1.7); ignored on 4.1.
            seqid: owner.seqid,
            // The share bits alone, never shareAccessWire's: RFC 8881
            // §18.18.3 allows only READ, WRITE or BOTH in share_access (no
            // OPEN4_SHARE_ACCESS_WANT_* bits), else NFS4ERR_INVAL.
            shareAccess: access,
            shareDeny: deny,
          }),
        ] as const,
      {
        seqidOwners: [owner],
        states: [state],
        stateGone: () => m.clientIdGone(state.clientId),
        // No answer: the server may have run it, moving the stateid on
        // (releaseOpen's CLOSE then goes with the next seqid).
        onOutcomeUnknown: () => state.unansweredChanges++,
      },
    );
    state.stateid = newerStateid(state.stateid, stateid);
    state.access = access;
    state.deny = deny;
    m.tracer.emit(
      "open",
      "OPEN_DOWNGRADE",
      `${state.path} ${before} -> ${formatStateid(state.stateid)} ${formatShare(held)} -> ${
        formatShare({ access, deny })
      } users ${state.users}`,
    );
  } catch (e) {
    // Closed meanwhile by the release at exit, whose CLOSE says so.
    if (state.closed) return;
    const keeps = `keeps ${formatShare(held)} until the last CLOSE`;
    if (e instanceof NfsError) {
      const told = refusal(e, "OPEN_DOWNGRADE", state.path);
      m.tracer.emit("open", told.event, `${told.detail}; ${keeps}`);
    } else {
      m.tracer.emit(
        "open",
        "OPEN_DOWNGRADE failed",
        `${state.path}: ${(e as Error).message}; ${keeps}`,
      );
    }
  }
}

/**
 * Forgets an open the server no longer holds (its CLOSE succeeded, here or
 * inside a larger COMPOUND: lib/state/small_file.ts). Its owner, once it
 * holds nothing, is put aside for reuse when it is the identity's current
 * open owner; an owner that is not (a retired one, or one of the small-file
 * owners, which are never handed to other OPENs) is left alone, and the
 * current owner's entry is never dropped for it.
 */
export function forgetOpen(m: StateManager, state: OpenState): void {
  state.closed = true;
  m.opens.delete(state);
  const owner = state.owner;
  if (m.openOwners.get(owner.uid) !== owner) return;
  for (const o of m.opens) if (o.owner === owner) return;
  m.openOwners.delete(owner.uid);
  if (!owner.retired) m.idleOwners.park(owner);
}

/**
 * LOCKU one range (RFC 7530 §16.12): true when a LOCKU was sent and
 * answered NFS4_OK; false when none was sent (no lock stateid, or the state
 * was dropped: nothing of it on the server).
 */
export async function unlockRange(
  m: StateManager,
  lockState: LockState,
  range: LockRange,
  options: { closing?: boolean } = {},
): Promise<boolean> {
  if (!lockState.stateid) return false;
  const state = lockState.open;
  // A lock given up because the lease ran out by our clock may still be
  // held by the server (its lease had not really run out there): on the way
  // out it is released all the same, as far as that goes. Any other use of
  // a lost lock fails (EBADF).
  const lost = lockState.bad !== undefined;
  if (lost && !(options.closing && lockState.lostAt !== undefined)) lockState.assertUsable();
  // Granted under a client ID replaced since (RFC 8881 §8.4.2, RFC 7530
  // §9.6.2): the server holds nothing of it, nothing to unlock.
  const stateGone = () => m.clientIdGone(lockState.clientId);
  let recorded = false;
  // Recorded while the lock owner's turn is held (RunOptions
  // recordUnderOwners): its next LOCK or LOCKU is built with this stateid.
  const record = (stateid: Stateid | undefined) => {
    if (recorded) return;
    recorded = true;
    lockState.stateid = stateid && newerStateid(lockState.stateid, stateid);
    // Every byte of the range is released, whatever this owner held there
    // and however it was asked for (RFC 7530 §16.12.4, POSIX: lock_ranges.ts).
    recordUnlocked(lockState.ranges, range);
  };
  // 4.1: in the lock owner's turn, as its LOCKs (lockRange: RFC 8881 §8.2.2).
  const turn = {
    seqidOwners: [lockState.owner],
    serialOwners: [lockState.owner],
    recordUnderOwners: (values: readonly unknown[]) => record(values[1] as Stateid | undefined),
  };
  let stateid: Stateid | undefined;
  try {
    [stateid] = await m.run(
      () =>
        [
          putfh(state.fh),
          locku({
            locktype: range.type === "read" ? LockType.READ_LT : LockType.WRITE_LT,
            seqid: lockState.owner.seqid,
            stateid: lockState.stateid!,
            offset: range.offset,
            length: range.length,
          }),
        ] as const,
      lost
        ? { ...turn, final: STATEID_GONE, stateGone }
        : { ...turn, states: [lockState], stateGone },
    ).then(([, s]) => [s]);
  } catch (e) {
    if (!(e instanceof StateDroppedError)) throw e;
    m.tracer.emit(
      "lock",
      "dropped",
      `${state.path} ${range.type} ${formatRange(range.offset, range.length)}: ${e.reason}; ` +
        "no LOCKU sent",
    );
    recordUnlocked(lockState.ranges, range);
    return false;
  }
  record(stateid);
  m.tracer.emit(
    "lock",
    "LOCKU",
    `${state.path} ${range.type} ${formatRange(range.offset, range.length)}`,
  );
  return true;
}
