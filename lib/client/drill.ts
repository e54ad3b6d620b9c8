/**
 * Reboot drills (`nfs4 simulate-reboot`): recording what the state manager
 * does around a server or client reboot, and reading its trace back as a
 * timeline with durations.
 *
 * Nothing here recovers anything. The drill drives the ordinary recovery
 * path (an operation meets NFS4ERR_STALE_STATEID or NFS4ERR_BADSESSION, the
 * state manager re-establishes the client ID and reclaims, RFC 7530 §9.6.2,
 * RFC 8881 §8.4.2) and this module only reads the trace events it emits:
 *
 * - detect: the first client flag set after the reboot (`+CHECK_LEASE`,
 *   `+SESSION_RESET`, `+LEASE_EXPIRED`), measured from the moment the server
 *   was known to be back (the restart command returned) or gone (the
 *   connection was lost);
 * - re-establish: `+LEASE_EXPIRED` to `-LEASE_EXPIRED` (SETCLIENTID/CONFIRM
 *   or EXCHANGE_ID/CREATE_SESSION);
 * - reclaim: the `RECLAIM_REBOOT` step's start to `-RECLAIM_REBOOT` (and on
 *   to `-RECLAIM_NOGRACE` when the server refused reclaims with NO_GRACE);
 * - grace waited: the waits announced by `retry … -> NFS4ERR_GRACE` events.
 *
 * @example
 * ```ts
 * const recorder = new DrillRecorder();
 * const client = await Nfs4Client.connect({ host, port, onTrace: recorder.sink("main") });
 * const restartedAt = recorder.mark("restart");
 * // ... restart the server, then read through an open file ...
 * const analysis = analyzeRecovery(recorder.events, { since: restartedAt, from: recorder.now() });
 * console.log(analysis.durations.reclaimMs);
 * ```
 * @module
 */

import { ShareAccess, ShareDeny } from "../nfs4/constants.ts";
import { NfsError } from "../nfs4/errors.ts";
import { getfh } from "../nfs4/ops/getfh.ts";
import { lookup } from "../nfs4/ops/lookup.ts";
import { putrootfh } from "../nfs4/ops/putrootfh.ts";
import { closeFile, openFile } from "../state/files.ts";
import type { TraceEvent, TraceSink } from "../state/trace.ts";
import type { LockHolder, Nfs4ClientApi } from "./api.ts";
import { Nfs4Client, splitPath } from "./client.ts";
import { formatRange } from "./trace.ts";

/**
 * Which client of a drill emitted an event: its own, the second owner that
 * watches it, or the one that cleans up when its own had to be dropped.
 */
export type DrillRole = "main" | "observer" | "cleanup";

/** A trace event stamped with the drill's own clock. */
export interface DrillEvent {
  /** Milliseconds since the drill started. */
  readonly at: number;
  readonly role: DrillRole;
  readonly event: TraceEvent;
}

/**
 * Collects the trace events of every client of a drill on one clock (each
 * client's tracer counts from its own creation) and named instants
 * (`restart`, `crash`, …).
 */
export class DrillRecorder {
  readonly events: DrillEvent[] = [];
  readonly marks: Map<string, number> = new Map();
  readonly #now: () => number;
  readonly #start: number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
    this.#start = now();
  }

  /** Milliseconds since the drill started. */
  now(): number {
    return this.#now() - this.#start;
  }

  /** A trace sink for one client; `forward` also receives each event, restamped. */
  sink(role: DrillRole, forward?: (event: DrillEvent) => void): TraceSink {
    return (event) => {
      const stamped: DrillEvent = { at: this.now(), role, event };
      this.events.push(stamped);
      forward?.(stamped);
    };
  }

  /** Records a named instant and returns it (ms since the start). */
  mark(name: string): number {
    const at = this.now();
    this.marks.set(name, at);
    return at;
  }

  /** The events of `role` at or after `since`. */
  after(since: number, role?: DrillRole): DrillEvent[] {
    return this.events.filter((e) => e.at >= since && (role === undefined || e.role === role));
  }
}

/** Parses a duration as the state manager's trace prints it (`100.0 ms`, `1.60 s`). */
export function parseTraceDuration(text: string): number | undefined {
  const match = /([0-9]+(?:\.[0-9]+)?) (ms|s)\b/.exec(text);
  if (!match) return undefined;
  const value = Number(match[1]);
  return match[2] === "s" ? value * 1000 : value;
}

/** One operation refused with NFS4ERR_GRACE, possibly several times. */
export interface GraceRefusal {
  readonly role: DrillRole;
  /** The operation as the trace names it (`OPEN`, `LOCKT`, `PUTFH+OPEN+GETFH+GETATTR`). */
  readonly op: string;
  readonly firstAt: number;
  readonly lastAt: number;
  readonly count: number;
  /** The waits announced before each retry. */
  readonly waitedMs: number;
}

/** A state the state manager recovered or gave up. */
export interface StateOutcome {
  readonly at: number;
  /** `OPEN(CLAIM_PREVIOUS) reclaimed`, `LOCK(reclaim) reclaimed`, `OPEN(CLAIM_FH) recovered`. */
  readonly how: string;
  readonly detail: string;
}

/** What the state manager of the main client did after a reboot. */
export interface RecoveryAnalysis {
  /** The connection to the server was lost (ms since the drill started). */
  readonly connectionLostAt: number | undefined;
  readonly reconnectedAt: number | undefined;
  /** The first client flag set after the reboot, and why. */
  readonly detectedAt: number | undefined;
  readonly detectedBy: string | undefined;
  readonly reestablishStartedAt: number | undefined;
  readonly reestablishedAt: number | undefined;
  /** The client ID the server gave after the reboot (`0x…`), from the trace. */
  readonly newClientId: string | undefined;
  /**
   * Every client ID the main client established after the reboot, in order:
   * more than one when the server rebooted again during recovery.
   */
  readonly clientIds: readonly string[];
  readonly newSession: string | undefined;
  readonly reclaimStartedAt: number | undefined;
  readonly reclaimDoneAt: number | undefined;
  /** Opens and locks reclaimed in grace (CLAIM_PREVIOUS, reclaim=true). */
  readonly reclaimed: readonly StateOutcome[];
  /** Opens and locks recovered outside grace (after NO_GRACE or RECLAIM_BAD). */
  readonly recoveredNoGrace: readonly StateOutcome[];
  /** States the state manager marked bad. */
  readonly lost: readonly StateOutcome[];
  /** Reclaims the drill made fail on purpose (`--fail-reclaim`). */
  readonly injected: readonly StateOutcome[];
  /** 4.1 RECLAIM_COMPLETE: `ok`, `already complete`, or undefined when not sent. */
  readonly reclaimComplete: { readonly at: number; readonly result: string } | undefined;
  /** Whether the server refused reclaims (NO_GRACE, RECLAIM_BAD): no-grace recovery ran. */
  readonly noGrace: boolean;
  /** Operations of any client that met NFS4ERR_GRACE. */
  readonly graceRefusals: readonly GraceRefusal[];
  /** Recovery gave up (`error … failed` events). */
  readonly errors: readonly string[];
  readonly durations: RecoveryDurations;
}

export interface RecoveryDurations {
  /** From the reference instant (server back, or connection lost) to the first flag. */
  readonly detectMs: number | undefined;
  /** LEASE_EXPIRED set to cleared. */
  readonly reestablishMs: number | undefined;
  /** The reclaim step's start to the last reclaim flag cleared. */
  readonly reclaimMs: number | undefined;
  /** Detection to the end of reclaim. */
  readonly recoveryMs: number | undefined;
  /** Connection lost to reconnected: how long the server was away. */
  readonly downMs: number | undefined;
  /** Waits of the main client for NFS4ERR_GRACE. */
  readonly graceWaitedMs: number;
  /** Waits of the observer for NFS4ERR_GRACE. */
  readonly observerGraceWaitedMs: number;
}

const RECOVERY_FLAGS = new Set([
  "+PURGE_STATE",
  "+LEASE_EXPIRED",
  "+CHECK_LEASE",
  "+SESSION_RESET",
  "+BIND_CONN_TO_SESSION",
  "+RECLAIM_REBOOT",
  "+TEST_STATEIDS",
  "+RECLAIM_NOGRACE",
]);

function firstAfter(
  events: readonly DrillEvent[],
  at: number | undefined,
  test: (e: TraceEvent) => boolean,
): DrillEvent | undefined {
  if (at === undefined) return undefined;
  return events.find((e) => e.at >= at && test(e.event));
}

/**
 * Reads the recovery of the main client from the events at or after
 * `since` (when the reboot began). `from` is the instant detection is
 * measured from: when the restart command returned, or when the connection
 * was lost; detection before it (the renewer got there first) counts as 0.
 */
export function analyzeRecovery(
  all: readonly DrillEvent[],
  options: { since: number; from?: number | undefined },
): RecoveryAnalysis {
  const events = all.filter((e) => e.at >= options.since);
  const main = events.filter((e) => e.role === "main");
  const lost = firstAfter(
    main,
    options.since,
    (e) => e.category === "conn" && e.event === "connection lost",
  );
  const reconnected = firstAfter(
    main,
    lost?.at,
    (e) => e.category === "conn" && e.event === "reconnected",
  );
  // The first flag set because of what the server answered (STALE_CLIENTID,
  // BADSESSION, STALE_STATEID, …); flags set because it did not answer
  // (renewal failed: connection refused) are not the reboot being noticed.
  const flags = main.filter((e) =>
    e.event.category === "state" && RECOVERY_FLAGS.has(e.event.event)
  );
  const detected = flags.find((e) => /NFS4ERR_|SEQ4_STATUS_/.test(e.event.detail ?? "")) ??
    flags[0];
  const leaseSet = firstAfter(
    main,
    detected?.at,
    (e) => e.category === "state" && e.event === "+LEASE_EXPIRED",
  );
  const leaseCleared = firstAfter(
    main,
    leaseSet?.at,
    (e) => e.category === "state" && e.event === "-LEASE_EXPIRED",
  );
  const established = [...main].reverse().find((e) =>
    e.event.category === "clid" && /^(SETCLIENTID|EXCHANGE_ID) ok$/.test(e.event.event) &&
    (leaseCleared === undefined || e.at <= leaseCleared.at)
  );
  const session = [...main].reverse().find((e) =>
    e.event.category === "sess" && e.event.event === "CREATE_SESSION ok" &&
    (leaseCleared === undefined || e.at <= leaseCleared.at)
  );
  const reclaimStart = firstAfter(
    main,
    detected?.at,
    (e) => e.category === "step" && e.event === "RECLAIM_REBOOT start",
  ) ?? firstAfter(main, detected?.at, (e) =>
    e.category === "state" && e.event === "+RECLAIM_REBOOT");
  const noGraceSet = main.find((e) =>
    e.event.category === "state" && e.event.event === "+RECLAIM_NOGRACE"
  );
  const reclaimDone = firstAfter(
    main,
    reclaimStart?.at,
    (e) => e.category === "state" && e.event === "-RECLAIM_REBOOT",
  );
  const noGraceDone = firstAfter(
    main,
    noGraceSet?.at,
    (e) => e.category === "state" && e.event === "-RECLAIM_NOGRACE",
  );
  const endOfReclaim = noGraceSet ? (noGraceDone ?? undefined) : reclaimDone;

  const outcome = (e: DrillEvent): StateOutcome => ({
    at: e.at,
    how: e.event.event,
    detail: e.event.detail ?? "",
  });
  const pick = (test: (e: TraceEvent) => boolean) => main.filter((e) => test(e.event)).map(outcome);
  const reclaimed = pick((e) =>
    (e.category === "open" && e.event === "OPEN(CLAIM_PREVIOUS) reclaimed") ||
    (e.category === "lock" && e.event === "LOCK(reclaim) reclaimed")
  );
  const recoveredNoGrace = pick((e) =>
    (e.category === "open" && /^OPEN\(CLAIM_(FH|NULL)\) recovered$/.test(e.event)) ||
    (e.category === "lock" && e.event === "LOCK recovered")
  );
  const lostStates = pick((e) =>
    (e.category === "open" && e.event === "recovery failed, state marked bad") ||
    (e.category === "lock" && e.event === "lock recovery failed, lock marked bad")
  );
  const injected = pick((e) => e.event === "reclaim fault injected");
  const complete = main.find((e) =>
    e.event.category === "step" && /^RECLAIM_COMPLETE /.test(e.event.event)
  );
  const clientIds = clientIdsOf(main, "main");
  const errors = main.filter((e) => e.event.category === "error").map((e) =>
    `${e.event.event}${e.event.detail ? `: ${e.event.detail}` : ""}`
  );

  const graceRefusals = collectGraceRefusals(events);
  const from = options.from ?? lost?.at;
  const span = (a: DrillEvent | undefined, b: DrillEvent | undefined) =>
    a && b ? Math.max(0, b.at - a.at) : undefined;
  return {
    connectionLostAt: lost?.at,
    reconnectedAt: reconnected?.at,
    detectedAt: detected?.at,
    detectedBy: detected?.event.detail,
    reestablishStartedAt: leaseSet?.at,
    reestablishedAt: leaseCleared?.at,
    newClientId: established ? clientIdText(established.event) : undefined,
    clientIds,
    newSession: session ? sessionText(session.event) : undefined,
    reclaimStartedAt: reclaimStart?.at,
    reclaimDoneAt: endOfReclaim?.at,
    reclaimed,
    recoveredNoGrace,
    lost: lostStates,
    injected,
    reclaimComplete: complete
      ? { at: complete.at, result: complete.event.event.replace(/^RECLAIM_COMPLETE /, "") }
      : undefined,
    noGrace: noGraceSet !== undefined,
    graceRefusals,
    errors,
    durations: {
      detectMs: detected && from !== undefined ? Math.max(0, detected.at - from) : undefined,
      reestablishMs: span(leaseSet, leaseCleared),
      reclaimMs: span(reclaimStart, endOfReclaim),
      recoveryMs: span(detected, endOfReclaim),
      downMs: span(lost, reconnected),
      graceWaitedMs: graceWaitedMs(events, "main"),
      observerGraceWaitedMs: graceWaitedMs(events, "observer"),
    },
  };
}

/**
 * How long `role` spent waiting because of NFS4ERR_GRACE: the union of the
 * waits its `retry … -> NFS4ERR_GRACE` events announce (operations waiting
 * at the same time count once).
 */
export function graceWaitedMs(events: readonly DrillEvent[], role: DrillRole): number {
  const spans = events
    .filter((e) =>
      e.role === role && e.event.category === "retry" && / -> NFS4ERR_GRACE$/.test(e.event.event)
    )
    .map((e) => [e.at, e.at + (parseTraceDuration(e.event.detail ?? "") ?? 0)] as const)
    .sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = -Infinity;
  for (const [start, stop] of spans) {
    if (stop <= end) continue;
    total += stop - Math.max(start, end);
    end = stop;
  }
  return total;
}

/** `retry OPEN -> NFS4ERR_GRACE (waiting 200.0 ms)` events, one entry per run of one op. */
function collectGraceRefusals(events: readonly DrillEvent[]): GraceRefusal[] {
  const open = new Map<
    string,
    {
      role: DrillRole;
      op: string;
      firstAt: number;
      lastAt: number;
      count: number;
      waitedMs: number;
    }
  >();
  const done: GraceRefusal[] = [];
  for (const e of events) {
    const match = e.event.category === "retry" && /^(.+) -> NFS4ERR_GRACE$/.exec(e.event.event);
    if (!match) continue;
    const op = match[1]!;
    const key = `${e.role} ${op}`;
    const wait = parseTraceDuration(e.event.detail ?? "") ?? 0;
    const current = open.get(key);
    if (current) {
      current.lastAt = e.at;
      current.count++;
      current.waitedMs += wait;
    } else {
      open.set(key, { role: e.role, op, firstAt: e.at, lastAt: e.at, count: 1, waitedMs: wait });
    }
  }
  for (const g of open.values()) done.push({ ...g });
  return done.sort((a, b) => a.firstAt - b.firstAt);
}

function clientIdText(event: TraceEvent): string | undefined {
  const id = event.data?.clientid;
  if (typeof id === "bigint") return `0x${id.toString(16).padStart(16, "0")}`;
  return /clientid (0x[0-9a-f]+)/.exec(event.detail ?? "")?.[1];
}

function sessionText(event: TraceEvent): string | undefined {
  return /session ([0-9a-f]+)/.exec(event.detail ?? "")?.[1];
}

/** Whether a check passed, failed, or only tells something. */
export type CheckStatus = "ok" | "fail" | "info";

/** One finding of a drill. */
export interface DrillCheck {
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail: string;
}

/**
 * What the trace says about a server reboot drill, as checks: the reboot was
 * noticed, the client ID re-established, the open reclaimed with
 * CLAIM_PREVIOUS and the lock with reclaim set (or, with `failReclaim`, that
 * state marked bad as injected), RECLAIM_COMPLETE sent on 4.1, how another
 * client fared during grace, and whether any state was lost (`lostAtEnd`,
 * from the state summary at the end). That last one is the client's own
 * view: it is OK only when `verified` says the server confirmed it (READ,
 * WRITE and another client's LOCKT went as expected), else only told.
 */
export function recoveryChecks(
  a: RecoveryAnalysis,
  options: {
    readonly clientIdBefore: string;
    readonly minorVersion: number;
    readonly failReclaim?: "open" | "lock" | undefined;
    readonly lostAtEnd: readonly string[];
    /** The server confirmed the state the client holds (default true). */
    readonly verified?: boolean;
  },
): DrillCheck[] {
  const checks: DrillCheck[] = [];
  const push = (name: string, status: CheckStatus, detail: string) =>
    checks.push({ name, status, detail });
  const detected = a.detectedAt !== undefined;
  push(
    "reboot detected",
    detected ? "ok" : "fail",
    detected
      ? `${a.detectedBy ?? "recovery started"}${
        a.durations.detectMs !== undefined ? ` after ${formatMs(a.durations.detectMs)}` : ""
      }`
      : "the state manager saw no sign of a reboot (did the server restart?)",
  );
  if (detected) {
    // The last one counts: the server may have rebooted again meanwhile.
    const ids = a.clientIds.filter((id) => id !== options.clientIdBefore);
    const current = ids.at(-1) ?? a.newClientId;
    const renewed = current !== undefined && current !== options.clientIdBefore;
    const between = ids.slice(0, -1);
    push(
      "client ID re-established",
      renewed && a.reestablishedAt !== undefined ? "ok" : "fail",
      renewed
        ? `clientid ${current} (was ${options.clientIdBefore}${
          between.length > 0
            ? `; ${between.join(", ")} in between: the server rebooted again during recovery`
            : ""
        })${a.newSession && between.length === 0 ? `, session ${a.newSession}` : ""}`
        : "no new client ID",
    );
    const openOutcome = a.reclaimed.find((r) => r.how.startsWith("OPEN")) ??
      a.recoveredNoGrace.find((r) => r.how.startsWith("OPEN"));
    const openLost = a.lost.find((r) => r.how.startsWith("recovery failed"));
    if (options.failReclaim === "open") {
      push(
        "open reclaim fails as injected",
        openLost ? "ok" : "fail",
        openLost ? `state marked bad: ${openLost.detail}` : "the open was not marked bad",
      );
    } else {
      push(
        "open reclaimed with CLAIM_PREVIOUS",
        openOutcome?.how === "OPEN(CLAIM_PREVIOUS) reclaimed"
          ? "ok"
          : openOutcome
          ? "info"
          : "fail",
        openOutcome
          ? `${openOutcome.how}: ${openOutcome.detail}${
            a.noGrace ? " (outside grace: the server refused the reclaim)" : ""
          }`
          : openLost
          ? `lost: ${openLost.detail}`
          : "no reclaim seen",
      );
    }
    const lockOutcome = a.reclaimed.find((r) => r.how.startsWith("LOCK")) ??
      a.recoveredNoGrace.find((r) => r.how.startsWith("LOCK"));
    const lockLost = a.lost.find((r) => r.how.startsWith("lock recovery failed"));
    if (options.failReclaim === "lock") {
      push(
        "lock reclaim fails as injected",
        lockLost ? "ok" : "fail",
        lockLost ? `lock marked bad: ${lockLost.detail}` : "the lock was not marked bad",
      );
    } else if (options.failReclaim === "open") {
      push(
        "lock not reclaimed",
        lockOutcome ? "fail" : "ok",
        lockOutcome ? `${lockOutcome.how}: ${lockOutcome.detail}` : "its open was lost with it",
      );
    } else {
      push(
        "lock reclaimed with reclaim=true",
        lockOutcome?.how === "LOCK(reclaim) reclaimed" ? "ok" : lockOutcome ? "info" : "fail",
        lockOutcome
          ? `${lockOutcome.how}: ${lockOutcome.detail}`
          : lockLost
          ? `lost: ${lockLost.detail}`
          : "no reclaim seen",
      );
    }
    if (options.minorVersion >= 1) {
      push(
        "RECLAIM_COMPLETE sent",
        a.reclaimComplete ? "ok" : "fail",
        a.reclaimComplete ? `RECLAIM_COMPLETE ${a.reclaimComplete.result}` : "not sent",
      );
    }
    if (a.noGrace) {
      push(
        "reclaim within grace",
        "info",
        "the server refused reclaims (NFS4ERR_NO_GRACE or RECLAIM_BAD): state was recovered " +
          "without grace, and another client could have taken the lock in between",
      );
    }
    for (const error of a.errors) push("state manager", "fail", error);
  }
  // The grace interplay: another client's non-reclaim OPEN while we reclaimed.
  const observerGrace = a.graceRefusals.filter((g) => g.role === "observer");
  if (observerGrace.length > 0) {
    const last = Math.max(...observerGrace.map((g) => g.lastAt));
    const finishedFirst = a.reclaimDoneAt !== undefined && a.reclaimDoneAt < last;
    push(
      "another client during grace",
      "info",
      `${
        observerGrace.map((g) => `${g.op} refused with NFS4ERR_GRACE ${g.count} time(s)`).join(
          ", ",
        )
      }` +
        ` (waited ${formatMs(a.durations.observerGraceWaitedMs)}, not fatal)` +
        (a.reclaimDoneAt !== undefined
          ? finishedFirst
            ? `; our reclaim finished ${formatMs(last - a.reclaimDoneAt)} before the last refusal`
            : "; our reclaim finished after grace"
          : ""),
    );
  } else if (detected) {
    push(
      "another client during grace",
      "info",
      "no NFS4ERR_GRACE seen: the server was out of grace by then (it may end grace early " +
        "once every client has sent RECLAIM_COMPLETE)",
    );
  }
  if (options.failReclaim === undefined) {
    const verified = options.verified ?? true;
    push(
      "no state lost",
      options.lostAtEnd.length > 0 ? "fail" : verified ? "ok" : "info",
      options.lostAtEnd.length > 0
        ? options.lostAtEnd.join("; ")
        : verified
        ? "every open and lock is valid"
        : "the client marked nothing lost, but the server did not confirm it (not verified)",
    );
  }
  return checks;
}

/** A request a drill waits on, and the client that sent it. */
export interface DrillStep {
  readonly role: DrillRole;
  /** What it is: `another client's LOCKT write 0-`, `our own client's lease probe`. */
  readonly what: string;
}

/**
 * The detail of the check for a step that got no answer by the drill's
 * deadline (`--wait`), naming whose step it was. Another client's step
 * that timed out (its non-reclaim OPEN, LOCKT or LOCK refused with
 * NFS4ERR_GRACE for as long as the server stays in grace, RFC 7530
 * §9.6.2, RFC 8881 §8.4.2) says nothing about our own client's recovery,
 * which its own checks judge: it only leaves the state unverified by
 * another client, and is never put down to our recovery. `lastRetry` is
 * the last retry the trace showed for that client (why it waited).
 */
export function timedOutStepDetail(
  step: DrillStep,
  options: { readonly waitSeconds: number; readonly lastRetry?: string | undefined },
): string {
  const retry = options.lastRetry !== undefined
    ? `; that client's last retry: ${options.lastRetry}`
    : "";
  const head = `${step.what}: no answer within --wait (${options.waitSeconds} s)${retry}`;
  return step.role === "main"
    ? `${head}: the other client's view could not be judged against who we are now ` +
      "(not verified)"
    : `${head}: the other client's step timed out, not our recovery (judged by its own ` +
      "checks); the state is not verified by another client";
}

/** Who the drill's own client is, for telling its lock from others'. */
export interface DrillIdentity {
  /** Its client ID now (`0x…`), after a probe of the lease. */
  readonly clientId: string;
  /** Its lock owner on the drill's file, as LOCK4denied names it (undefined: none held). */
  readonly lockOwner: string | undefined;
  /** Its client IDs before this one: before the reboot, and between reboots. */
  readonly earlier: readonly string[];
}

/**
 * Whose a lock is, as the drill sees it: `ours` (the client ID in force
 * now and our lock owner), `earlier` (a client ID of ours from before a
 * reboot: a lock the server should have dropped, the old incarnation's
 * ghost), `other` (another client, or another owner of our client ID),
 * `unknown` (the server named no real holder).
 */
export type HolderKind = "ours" | "earlier" | "other" | "unknown";

/** Whose `holder` is, judged against `us`. */
export function holderKind(holder: LockHolder, us: DrillIdentity): HolderKind {
  if (holder.unknown) return "unknown";
  const id = clientIdHex(holder.clientid);
  if (id === us.clientId) {
    return us.lockOwner === undefined || holder.owner === us.lockOwner ? "ours" : "other";
  }
  return us.earlier.includes(id) ? "earlier" : "other";
}

/** `0x6b01…0001`: a client ID as the trace and the state summary print it. */
export function clientIdHex(id: bigint): string {
  return `0x${id.toString(16).padStart(16, "0")}`;
}

/** `write lock 0- held by clientid 0x… owner lock-p42-1`, or the unknown holder. */
export function describeDrillHolder(holder: LockHolder | undefined): string {
  if (!holder) return "no conflicting lock";
  if (holder.unknown) {
    return "a conflicting lock held by an unknown holder (the server named none: " +
      `clientid ${clientIdHex(holder.clientid)} owner ${holder.owner})`;
  }
  return `${holder.type} lock ${formatRange(holder.offset, holder.length)} held by clientid ${
    clientIdHex(holder.clientid)
  } owner ${holder.owner}`;
}

/** What a holder of each kind is, for the checks' details. */
function whose(kind: HolderKind, us: DrillIdentity): string {
  switch (kind) {
    case "ours":
      return "ours";
    case "earlier":
      return `a lock of an earlier client ID of ours (from before the reboot), not of the ` +
        `current one ${us.clientId}: the old incarnation's ghost`;
    case "other":
      return `not ours (clientid ${us.clientId} owner ${us.lockOwner ?? "none"})`;
    case "unknown":
      return "cannot tell whether it is ours";
  }
}

/**
 * Another client's LOCKT on the drill's range, judged: with `expectHeld`
 * it must find our lock, held by the client ID in force now and our lock
 * owner (an earlier client ID of ours, another holder or one the server
 * does not name all fail); without, no lock at all.
 */
export function locktCheck(
  holder: LockHolder | undefined,
  us: DrillIdentity,
  expectHeld: boolean,
): { status: CheckStatus; detail: string } {
  const text = describeDrillHolder(holder);
  if (!expectHeld) {
    return holder === undefined
      ? {
        status: "ok",
        detail: "no conflicting lock: the server released the lock that was not reclaimed",
      }
      : {
        status: "fail",
        detail: `expected no lock: ${text} (${whose(holderKind(holder, us), us)})`,
      };
  }
  if (holder === undefined) {
    return {
      status: "fail",
      detail: `expected our lock (clientid ${us.clientId} owner ${
        us.lockOwner ?? "none"
      }): ${text}`,
    };
  }
  const kind = holderKind(holder, us);
  return { status: kind === "ours" ? "ok" : "fail", detail: `${text} (${whose(kind, us)})` };
}

/**
 * Another client's LOCK on the drill's range, judged: refused (`by`, the
 * holder its LOCK4denied named) or granted (`by` undefined). With
 * `expectHeld` it must be refused by our lock; a refusal by a holder the
 * server does not name is only told (the LOCKT check is what verifies).
 * Without, it must be granted.
 */
export function lockCheck(
  by: LockHolder | undefined,
  us: DrillIdentity,
  expectHeld: boolean,
): { status: CheckStatus; detail: string } {
  if (by === undefined) {
    return expectHeld
      ? { status: "fail", detail: "granted: our lock is gone" }
      : { status: "ok", detail: "granted: our lock was lost, as the fault injected" };
  }
  const kind = holderKind(by, us);
  const detail = `refused (NFS4ERR_DENIED): ${describeDrillHolder(by)} (${whose(kind, us)})`;
  if (!expectHeld) return { status: "fail", detail };
  return { status: kind === "ours" ? "ok" : kind === "unknown" ? "info" : "fail", detail };
}

/**
 * The client IDs `role` established, in order (from the trace), without
 * repeats: the main client's history across reboots.
 */
export function clientIdsOf(events: readonly DrillEvent[], role: DrillRole): string[] {
  const ids: string[] = [];
  for (const e of events) {
    if (e.role !== role || e.event.category !== "clid") continue;
    if (!/^(SETCLIENTID|EXCHANGE_ID) ok$/.test(e.event.event)) continue;
    const id = clientIdText(e.event);
    if (id !== undefined && !ids.includes(id)) ids.push(id);
  }
  return ids;
}

/** How a drill ended, judged from its checks, with the sentence that says so. */
export interface DrillVerdict {
  readonly result: "recovered" | "partial" | "failed";
  readonly verdict: string;
}

/**
 * The verdict of a drill on `path` from its checks: `partial` when the
 * reclaim made to fail (`failReclaim`) was lost as injected, `failed` when
 * any check failed, else `recovered`, with the durations that matter
 * (server reboot: detect, re-establish, reclaim; client reboot: how soon
 * the server released the crashed incarnation's state).
 */
export function drillVerdict(
  checks: readonly DrillCheck[],
  drill: {
    readonly mode: "server" | "client";
    readonly minorVersion: number | undefined;
    readonly path: string;
    readonly failReclaim?: "open" | "lock" | undefined;
    readonly durations: Readonly<Record<string, number | null | undefined>>;
  },
): DrillVerdict {
  const failed = checks.filter((c) => c.status === "fail");
  const { failReclaim, path } = drill;
  const v = `NFSv4.${drill.minorVersion}`;
  const ms = (value: number | null | undefined) =>
    value === null || value === undefined ? "-" : formatMs(value);
  const lostAsInjected = failReclaim !== undefined &&
    checks.some((c) => c.name === `${failReclaim} reclaim fails as injected` && c.status === "ok");
  if (lostAsInjected) {
    const what = failReclaim === "open"
      ? `the open of ${path} and its lock were lost`
      : `the lock on ${path} was lost, the open was reclaimed`;
    return {
      result: "partial",
      verdict: `partial: recovery was partial on ${v}: ${what} (reclaim made to fail); ` +
        `the client ID was re-established` +
        (failed.length > 0 ? `; unexpected: ${failed.map((c) => c.name).join("; ")}` : ""),
    };
  }
  if (failed.length > 0) {
    return {
      result: "failed",
      verdict: `FAILED on ${v}: ${failed.map((c) => `${c.name}: ${c.detail}`).join("; ")}`,
    };
  }
  const d = drill.durations;
  return {
    result: "recovered",
    verdict: drill.mode === "server"
      ? `ok: all state recovered and verified on ${v}: open and lock reclaimed` +
        (checks.some((c) => c.name === "reclaim within grace") ? " without grace" : " in grace") +
        ` (detect ${ms(d.detectMs)}, re-establish ${ms(d.reestablishMs)}, reclaim ${
          ms(d.reclaimMs)
        })`
      : `ok: the server released the crashed incarnation's open and lock on ${v} ` +
        `(${ms(d.releasedAfterMs)} after the crash)`,
  };
}

/** One line of a drill's timeline. */
export interface TimelineEntry {
  /** Milliseconds since the drill started. */
  readonly at: number;
  readonly role: DrillRole | "drill";
  readonly what: string;
  readonly detail?: string | undefined;
}

/** Trace events worth a line in the timeline (the rest stays in `--trace`). */
function notable(e: TraceEvent): boolean {
  switch (e.category) {
    case "conn":
      return e.event === "connection lost" || e.event === "reconnected";
    case "state":
      return /^[+-]/.test(e.event) || e.event === "client crash simulated";
    case "clid":
      return / ok$/.test(e.event) || /->/.test(e.event);
    case "sess":
      return e.event === "CREATE_SESSION ok";
    case "open":
    case "lock":
      return /reclaimed|recovered|marked bad|fault injected/.test(e.event);
    case "step":
      return /^RECLAIM_COMPLETE /.test(e.event);
    case "error":
      return true;
    default:
      return false;
  }
}

/**
 * The lines of a drill's timeline from `since` on: the drill's own marks,
 * the notable events of each client, and each run of NFS4ERR_GRACE refusals
 * as one line.
 */
export function timeline(
  events: readonly DrillEvent[],
  marks: ReadonlyMap<string, number>,
  since: number,
): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  for (const [what, at] of marks) {
    if (at >= since) entries.push({ at, role: "drill", what });
  }
  for (const e of events) {
    if (e.at < since || !notable(e.event)) continue;
    // The observer's own re-establishing is bookkeeping; its refusals are what matter.
    if (e.role === "observer" && e.event.category !== "error") continue;
    entries.push({ at: e.at, role: e.role, what: e.event.event, detail: e.event.detail });
  }
  for (const g of collectGraceRefusals(events.filter((e) => e.at >= since))) {
    entries.push({
      at: g.firstAt,
      role: g.role,
      what: `${g.op} -> NFS4ERR_GRACE`,
      detail: `refused ${g.count} time(s) until +${((g.lastAt - since) / 1000).toFixed(3)} s, ` +
        `waited ${formatMs(g.waitedMs)}`,
    });
  }
  return entries.sort((a, b) => a.at - b.at);
}

/** How a promise a drill waited for ended: with a value, an error, out of time, or stopped. */
export type Settled<T> =
  | { readonly kind: "ok"; readonly value: T }
  | { readonly kind: "error"; readonly error: unknown }
  | { readonly kind: "timeout" }
  | { readonly kind: "aborted" };

/**
 * Waits for `promise` for at most `ms` milliseconds, or until `signal`
 * aborts; never throws. A drill waits like this for whatever a server may
 * never answer (recovery, another client's view, its cleanup): the promise
 * itself goes on, and its client is then dropped rather than closed.
 */
export async function settleWithin<T>(
  promise: Promise<T>,
  ms: number,
  signal?: AbortSignal,
): Promise<Settled<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const giveUp = new Promise<Settled<T>>((resolve) => {
    timer = setTimeout(() => resolve({ kind: "timeout" }), Math.max(0, ms));
    if (signal) {
      onAbort = () => resolve({ kind: "aborted" });
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    }
  });
  try {
    return await Promise.race([
      promise.then(
        (value): Settled<T> => ({ kind: "ok", value }),
        (error): Settled<T> => ({ kind: "error", error }),
      ),
      giveUp,
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}

/** `3.2 ms`, `1.50 s`, as the trace prints durations. */
export function formatMs(value: number): string {
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(1)} ms`;
}

/**
 * Whether any other open of `path` has write access, found out by an OPEN
 * with share deny WRITE (RFC 7530 §9.9): `granted` means none does (the
 * probe's own open is closed again), `denied` that one does
 * (NFS4ERR_SHARE_DENIED). Needs the library client (its state manager);
 * `undefined` for any other implementation of the API. `path` is walked
 * with plain LOOKUPs (no symlinks).
 */
export async function probeWriteOpens(
  client: Nfs4ClientApi,
  path: string,
): Promise<"granted" | "denied" | undefined> {
  if (!(client instanceof Nfs4Client)) return undefined;
  const m = client.manager;
  const components = splitPath(path);
  const name = components.pop();
  if (name === undefined) return undefined;
  const results = await m.run(() => [
    putrootfh(),
    ...components.map((c) => lookup(c)),
    getfh(),
  ]);
  const dirFh = results.at(-1) as Uint8Array;
  try {
    const opened = await openFile(m, {
      dirFh,
      name,
      path,
      access: ShareAccess.OPEN4_SHARE_ACCESS_READ,
      deny: ShareDeny.OPEN4_SHARE_DENY_WRITE,
    });
    await closeFile(m, opened.state);
    return "granted";
  } catch (e) {
    if (e instanceof NfsError && e.statusName === "NFS4ERR_SHARE_DENIED") return "denied";
    throw e;
  }
}
