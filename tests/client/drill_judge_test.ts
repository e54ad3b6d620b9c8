/**
 * How a reboot drill judges what another client sees (lib/client/drill.ts,
 * issue 15 item 5): a lock counts as ours only when it is held by the
 * client ID in force now and our lock owner; a lock of an earlier client ID
 * of ours (the old incarnation's ghost), another client's and one the
 * server does not name are never OK; and state the server did not confirm
 * is never called verified.
 */

import assert from "node:assert/strict";
import type { LockHolder } from "../../lib/client/api.ts";
import {
  analyzeRecovery,
  clientIdsOf,
  type DrillEvent,
  type DrillIdentity,
  holderKind,
  lockCheck,
  locktCheck,
  recoveryChecks,
} from "../../lib/client/drill.ts";

const MAX = 0xffff_ffff_ffff_ffffn;

const US: DrillIdentity = {
  clientId: "0x6b00000300000002",
  lockOwner: "lock-p42-1",
  earlier: ["0x6b00000100000001", "0x6b00000200000001"],
};

function holder(
  clientid: bigint,
  owner = "lock-p42-1",
  extra: Partial<LockHolder> = {},
): LockHolder {
  return { type: "write", offset: 0n, length: MAX, clientid, owner, ...extra };
}

const OURS = holder(0x6b00000300000002n);
const GHOST = holder(0x6b00000200000001n);
const FIRST_REBOOT = holder(0x6b00000100000001n);
const OTHER = holder(0x6b00000300000007n, "lock-p99-1");
const OUR_CLIENT_OTHER_OWNER = holder(0x6b00000300000002n, "lock-p43-1");
const UNKNOWN = holder(0n, "ganesha_unknown_owner", { unknown: true });

Deno.test("holderKind() tells our lock from an earlier client ID's, another client's and an unnamed one", () => {
  assert.equal(holderKind(OURS, US), "ours");
  assert.equal(holderKind(GHOST, US), "earlier");
  assert.equal(holderKind(FIRST_REBOOT, US), "earlier");
  assert.equal(holderKind(OTHER, US), "other");
  assert.equal(holderKind(OUR_CLIENT_OTHER_OWNER, US), "other");
  assert.equal(holderKind(UNKNOWN, US), "unknown");
  // No lock owner known (none held): the client ID decides.
  assert.equal(holderKind(OUR_CLIENT_OTHER_OWNER, { ...US, lockOwner: undefined }), "ours");
});

Deno.test("lockCheck(): a LOCK refused by the old incarnation's ghost is not OK", () => {
  const ghost = lockCheck(GHOST, US, true);
  assert.equal(ghost.status, "fail");
  assert.match(
    ghost.detail,
    /earlier client ID of ours.*not of the current one 0x6b00000300000002/,
  );
  assert.match(ghost.detail, /ghost/);
  const ours = lockCheck(OURS, US, true);
  assert.equal(ours.status, "ok");
  assert.match(
    ours.detail,
    /^refused \(NFS4ERR_DENIED\): write lock 0- held by clientid 0x6b00000300000002 owner lock-p42-1 \(ours\)$/,
  );
  assert.equal(lockCheck(OTHER, US, true).status, "fail");
  assert.equal(lockCheck(OUR_CLIENT_OTHER_OWNER, US, true).status, "fail");
  // Refused by a holder the server does not name: told, not counted as verified.
  const unknown = lockCheck(UNKNOWN, US, true);
  assert.equal(unknown.status, "info");
  assert.match(unknown.detail, /unknown holder.*cannot tell whether it is ours/);
  // Granted: our lock is gone.
  assert.equal(lockCheck(undefined, US, true).status, "fail");
  // The lock was made to be lost: granted is right, any refusal is not.
  assert.equal(lockCheck(undefined, US, false).status, "ok");
  assert.equal(lockCheck(GHOST, US, false).status, "fail");
});

Deno.test("locktCheck(): LOCKT must name the current client ID and our owner", () => {
  assert.equal(locktCheck(OURS, US, true).status, "ok");
  const first = locktCheck(FIRST_REBOOT, US, true);
  assert.equal(first.status, "fail");
  assert.match(first.detail, /held by clientid 0x6b00000100000001 .*earlier client ID of ours/);
  assert.equal(locktCheck(OTHER, US, true).status, "fail");
  assert.equal(locktCheck(UNKNOWN, US, true).status, "fail");
  const none = locktCheck(undefined, US, true);
  assert.equal(none.status, "fail");
  assert.match(
    none.detail,
    /expected our lock \(clientid 0x6b00000300000002 owner lock-p42-1\): no conflicting lock/,
  );
  assert.equal(locktCheck(undefined, US, false).status, "ok");
  assert.equal(locktCheck(GHOST, US, false).status, "fail");
});

function clid(at: number, id: bigint, role: "main" | "observer" = "main"): DrillEvent {
  return {
    at,
    role,
    event: {
      time: at / 1000,
      category: "clid",
      event: "EXCHANGE_ID ok",
      detail: `clientid 0x${id.toString(16).padStart(16, "0")} owner o`,
      data: { clientid: id },
    },
  };
}

function ev(at: number, category: "state" | "step", event: string, detail?: string): DrillEvent {
  return {
    at,
    role: "main",
    event: { time: at / 1000, category, event, ...(detail ? { detail } : {}) },
  };
}

Deno.test("recoveryChecks(): after two reboots the client ID re-established is the last one", () => {
  const events: DrillEvent[] = [
    clid(0, 0x6b00000000000001n),
    ev(100, "state", "+SESSION_RESET", "SEQUENCE -> NFS4ERR_BADSESSION"),
    ev(101, "state", "+LEASE_EXPIRED", "CREATE_SESSION -> NFS4ERR_STALE_CLIENTID"),
    clid(102, 0x6b00000100000001n),
    clid(103, 0x6b00000100000002n, "observer"),
    ev(104, "state", "-LEASE_EXPIRED", "clientid 0x6b00000100000001"),
    ev(900, "state", "+LEASE_EXPIRED", "RENEW -> NFS4ERR_STALE_CLIENTID"),
    clid(901, 0x6b00000200000001n),
    ev(902, "state", "-LEASE_EXPIRED", "clientid 0x6b00000200000001"),
  ];
  assert.deepEqual(clientIdsOf(events, "main"), [
    "0x6b00000000000001",
    "0x6b00000100000001",
    "0x6b00000200000001",
  ]);
  const a = analyzeRecovery(events, { since: 50 });
  assert.deepEqual(a.clientIds, ["0x6b00000100000001", "0x6b00000200000001"]);
  const checks = recoveryChecks(a, {
    clientIdBefore: "0x6b00000000000001",
    minorVersion: 1,
    lostAtEnd: [],
  });
  const renewed = checks.find((c) => c.name === "client ID re-established")!;
  assert.equal(renewed.status, "ok");
  assert.equal(
    renewed.detail,
    "clientid 0x6b00000200000001 (was 0x6b00000000000001; 0x6b00000100000001 in between: " +
      "the server rebooted again during recovery)",
  );
});

Deno.test("recoveryChecks(): no state lost is OK only when the server confirmed it", () => {
  const a = analyzeRecovery([], { since: 0 });
  const verified = recoveryChecks(a, { clientIdBefore: "0x1", minorVersion: 0, lostAtEnd: [] });
  assert.equal(verified.find((c) => c.name === "no state lost")?.status, "ok");
  const unverified = recoveryChecks(a, {
    clientIdBefore: "0x1",
    minorVersion: 0,
    lostAtEnd: [],
    verified: false,
  });
  const lost = unverified.find((c) => c.name === "no state lost")!;
  assert.equal(lost.status, "info");
  assert.match(lost.detail, /not verified/);
  const gone = recoveryChecks(a, {
    clientIdBefore: "0x1",
    minorVersion: 0,
    lostAtEnd: ["lock /vfs/f: lease ran out"],
    verified: false,
  });
  assert.equal(gone.find((c) => c.name === "no state lost")?.status, "fail");
});
