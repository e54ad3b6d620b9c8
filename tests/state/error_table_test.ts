/**
 * The status -> action table (lib/state/error_table.ts): what each nfsstat4
 * means for an ordinary operation, for a lease check, and what each
 * SEQ4_STATUS bit asks of the state manager (RFC 7530 §9.6, §13; RFC 8881
 * §15.1, §18.46.3; the kernel's nfs4_do_handle_exception,
 * nfs4_recovery_handle_error and nfs41_handle_sequence_flag_errors).
 */

import assert from "node:assert/strict";
import {
  actionForStatus,
  leaseErrorFlags,
  type RecoveryAction,
  SeqStatus,
  seqStatusNames,
  sequenceFlagActions,
} from "../../lib/state/error_table.ts";
import { Nfs4Status as S, statusName } from "../../lib/nfs4/status.ts";
import { SequenceStatus } from "../../lib/nfs4/constants.ts";

/** The documented table, written out independently of the code. */
const DOCUMENTED: ReadonlyMap<number, RecoveryAction> = new Map<number, RecoveryAction>([
  [S.NFS4ERR_DELAY, { kind: "delay" }],
  [S.NFS4ERR_GRACE, { kind: "delay" }],
  // Waited out only briefly: the kernel fails it with EBUSY once the next wait is past 1 s.
  [S.NFS4ERR_FILE_OPEN, { kind: "delay", maxWaitMs: 1_000 }],
  [S.NFS4ERR_LAYOUTTRYLATER, { kind: "delay" }],
  [S.NFS4ERR_RECALLCONFLICT, { kind: "delay" }],
  [S.NFS4ERR_RETURNCONFLICT, { kind: "delay" }],
  [S.NFS4ERR_OLD_STATEID, { kind: "retry" }],
  [S.NFS4ERR_RETRY_UNCACHED_REP, { kind: "retry" }],
  [S.NFS4ERR_STALE_CLIENTID, { kind: "recover", flags: ["CHECK_LEASE"] }],
  [S.NFS4ERR_STALE_STATEID, { kind: "recover", flags: ["CHECK_LEASE"] }],
  [S.NFS4ERR_EXPIRED, { kind: "recover-state" }],
  [S.NFS4ERR_BAD_STATEID, { kind: "recover-state" }],
  [S.NFS4ERR_ADMIN_REVOKED, { kind: "recover-state" }],
  [S.NFS4ERR_DELEG_REVOKED, { kind: "recover-state" }],
  [S.NFS4ERR_BADSESSION, { kind: "recover", flags: ["SESSION_RESET"] }],
  [S.NFS4ERR_DEADSESSION, { kind: "recover", flags: ["SESSION_RESET"] }],
  [S.NFS4ERR_BADSLOT, { kind: "recover", flags: ["SESSION_RESET"] }],
  [S.NFS4ERR_BAD_HIGH_SLOT, { kind: "recover", flags: ["SESSION_RESET"] }],
  [S.NFS4ERR_SEQ_FALSE_RETRY, { kind: "recover", flags: ["SESSION_RESET"] }],
  [S.NFS4ERR_SEQ_MISORDERED, { kind: "recover", flags: ["SESSION_RESET"] }],
  [S.NFS4ERR_CONN_NOT_BOUND_TO_SESSION, { kind: "recover", flags: ["BIND_CONN_TO_SESSION"] }],
  [S.NFS4ERR_BAD_SEQID, { kind: "bad-seqid" }],
]);

for (const [status, action] of DOCUMENTED) {
  Deno.test(`actionForStatus() maps ${statusName(status)} to ${action.kind} (RFC 7530 §13, RFC 8881 §15.1)`, () => {
    assert.deepEqual(actionForStatus(status), action);
  });
}

Deno.test("actionForStatus() fails every other known status and unknown codes (RFC 7530 §13)", () => {
  for (const status of Object.values(S)) {
    if (DOCUMENTED.has(status)) continue;
    assert.deepEqual(actionForStatus(status), { kind: "fail" }, statusName(status));
  }
  for (const status of [1, 99, 10_000, 10_099, 12_345, 0x7fff_ffff]) {
    assert.deepEqual(actionForStatus(status), { kind: "fail" }, String(status));
  }
});

Deno.test("actionForStatus() fails NFS4_OK rather than inventing an action", () => {
  assert.deepEqual(actionForStatus(S.NFS4_OK), { kind: "fail" });
});

Deno.test("leaseErrorFlags(): STALE_CLIENTID -> LEASE_EXPIRED + reboot reclaim (RFC 7530 §9.6.2)", () => {
  assert.deepEqual(leaseErrorFlags(S.NFS4ERR_STALE_CLIENTID), {
    set: ["LEASE_EXPIRED"],
    reclaim: "reboot",
  });
});

Deno.test("leaseErrorFlags(): EXPIRED -> LEASE_EXPIRED + no-grace reclaim (RFC 7530 §9.6.3)", () => {
  assert.deepEqual(leaseErrorFlags(S.NFS4ERR_EXPIRED), {
    set: ["LEASE_EXPIRED"],
    reclaim: "nograce",
  });
});

Deno.test("leaseErrorFlags(): session errors -> SESSION_RESET (RFC 8881 §2.10.6, §15.1.11)", () => {
  for (
    const status of [
      S.NFS4ERR_BADSESSION,
      S.NFS4ERR_DEADSESSION,
      S.NFS4ERR_BADSLOT,
      S.NFS4ERR_BAD_HIGH_SLOT,
      S.NFS4ERR_SEQ_FALSE_RETRY,
      S.NFS4ERR_SEQ_MISORDERED,
    ]
  ) {
    assert.deepEqual(leaseErrorFlags(status), { set: ["SESSION_RESET"] }, statusName(status));
  }
});

Deno.test("leaseErrorFlags(): CONN_NOT_BOUND_TO_SESSION -> BIND_CONN_TO_SESSION (RFC 8881 §18.34)", () => {
  assert.deepEqual(leaseErrorFlags(S.NFS4ERR_CONN_NOT_BOUND_TO_SESSION), {
    set: ["BIND_CONN_TO_SESSION"],
  });
});

Deno.test("leaseErrorFlags(): RENEW -> CB_PATH_DOWN returns delegations (RFC 7530 §16.28)", () => {
  assert.deepEqual(leaseErrorFlags(S.NFS4ERR_CB_PATH_DOWN), { set: ["DELEGRETURN"] });
});

Deno.test("leaseErrorFlags() is undefined for statuses that are not lease conditions", () => {
  for (
    const status of [
      S.NFS4_OK,
      S.NFS4ERR_DELAY,
      S.NFS4ERR_GRACE,
      S.NFS4ERR_STALE_STATEID,
      S.NFS4ERR_BAD_STATEID,
      S.NFS4ERR_ADMIN_REVOKED,
      S.NFS4ERR_SERVERFAULT,
      S.NFS4ERR_ACCESS,
      12_345,
    ]
  ) {
    assert.equal(leaseErrorFlags(status), undefined, statusName(status));
  }
});

Deno.test("SeqStatus bits agree with the codec's SEQ4_STATUS constants (RFC 8881 §18.46)", () => {
  for (const [name, bit] of Object.entries(SeqStatus)) {
    assert.equal(
      (SequenceStatus as Record<string, number>)[`SEQ4_STATUS_${name}`],
      bit,
      name,
    );
  }
  assert.equal(Object.keys(SeqStatus).length, Object.keys(SequenceStatus).length);
});

Deno.test("seqStatusNames() names each bit set, in bit order", () => {
  assert.deepEqual(seqStatusNames(0), []);
  assert.deepEqual(seqStatusNames(SeqStatus.ADMIN_STATE_REVOKED | SeqStatus.CB_PATH_DOWN), [
    "SEQ4_STATUS_CB_PATH_DOWN",
    "SEQ4_STATUS_ADMIN_STATE_REVOKED",
  ]);
});

/** What each single SEQ4_STATUS bit asks for (kernel nfs41_handle_sequence_flag_errors). */
const SEQ_FLAG_ACTIONS: readonly [
  keyof typeof SeqStatus,
  ReturnType<typeof sequenceFlagActions>,
][] = [
  ["CB_PATH_DOWN", { set: ["BIND_CONN_TO_SESSION"] }],
  ["CB_GSS_CONTEXTS_EXPIRING", { set: [] }],
  ["CB_GSS_CONTEXTS_EXPIRED", { set: [] }],
  ["EXPIRED_ALL_STATE_REVOKED", { set: ["TEST_STATEIDS"] }],
  ["EXPIRED_SOME_STATE_REVOKED", { set: ["TEST_STATEIDS"] }],
  ["ADMIN_STATE_REVOKED", { set: ["TEST_STATEIDS"] }],
  ["RECALLABLE_STATE_REVOKED", { set: ["TEST_STATEIDS"] }],
  // Migration recovery, not done: the manager notes it (session_test.ts).
  ["LEASE_MOVED", { set: [] }],
  ["RESTART_RECLAIM_NEEDED", { set: [], reclaim: "reboot" }],
  ["CB_PATH_DOWN_SESSION", { set: ["BIND_CONN_TO_SESSION"] }],
  ["BACKCHANNEL_FAULT", { set: ["SESSION_RESET"] }],
  ["DEVID_CHANGED", { set: [] }],
  ["DEVID_DELETED", { set: [] }],
];

for (const [name, expected] of SEQ_FLAG_ACTIONS) {
  Deno.test(`sequenceFlagActions(): SEQ4_STATUS_${name} (RFC 8881 §18.46.3)`, () => {
    assert.deepEqual(sequenceFlagActions(SeqStatus[name]), expected);
  });
}

Deno.test("sequenceFlagActions() covers every SEQ4_STATUS bit", () => {
  assert.deepEqual(SEQ_FLAG_ACTIONS.map(([name]) => name).sort(), Object.keys(SeqStatus).sort());
});

Deno.test("sequenceFlagActions(): BACKCHANNEL_FAULT wins over CB_PATH_DOWN (kernel order)", () => {
  assert.deepEqual(
    sequenceFlagActions(SeqStatus.BACKCHANNEL_FAULT | SeqStatus.CB_PATH_DOWN),
    { set: ["SESSION_RESET"] },
  );
});

Deno.test("sequenceFlagActions() combines bits: revoked + restart + lease moved", () => {
  assert.deepEqual(
    sequenceFlagActions(
      SeqStatus.ADMIN_STATE_REVOKED | SeqStatus.RESTART_RECLAIM_NEEDED | SeqStatus.LEASE_MOVED,
    ),
    { set: ["TEST_STATEIDS"], reclaim: "reboot" },
  );
  assert.deepEqual(sequenceFlagActions(0), { set: [] });
});
