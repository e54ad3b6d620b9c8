/**
 * `nfs4 simulate-reboot` without a server: `--range` parsing, usage errors,
 * and lib/client/drill.ts reading a state-manager trace back as a timeline
 * (detect, re-establish, reclaim, grace waited) and as checks.
 */

import assert from "node:assert/strict";
import { parseRange } from "../../cli/simulate_reboot.ts";
import {
  analyzeRecovery,
  type DrillCheck,
  type DrillEvent,
  type DrillRole,
  drillVerdict,
  graceWaitedMs,
  parseTraceDuration,
  recoveryChecks,
  timeline,
} from "../../lib/client/drill.ts";
import type { TraceCategory } from "../../lib/state/trace.ts";
import { dir, file, runFake } from "./_fake.ts";

const MAX = 0xffff_ffff_ffff_ffffn;

/** A trace event at `at` ms. */
function ev(
  at: number,
  category: TraceCategory,
  event: string,
  detail?: string,
  role: DrillRole = "main",
  data?: Record<string, unknown>,
): DrillEvent {
  return {
    at,
    role,
    event: {
      time: at / 1000,
      category,
      event,
      ...(detail !== undefined ? { detail } : {}),
      ...(data !== undefined ? { data } : {}),
    },
  };
}

/** What the state manager of a 4.1 client prints around a server reboot (from a real run). */
function reboot41(at0: number): DrillEvent[] {
  return [
    ev(at0 + 44, "conn", "connection lost", "connection closed by 127.0.0.1:20490"),
    ev(at0 + 77, "conn", "reconnected", "to 127.0.0.1:20490 from 127.0.0.1:40554"),
    ev(at0 + 78, "state", "+SESSION_RESET", "SEQUENCE -> NFS4ERR_BADSESSION"),
    ev(at0 + 78.2, "step", "SESSION_RESET start", "SEQUENCE -> NFS4ERR_BADSESSION"),
    ev(at0 + 79, "state", "-SESSION_RESET", "NFS4ERR_STALE_CLIENTID"),
    ev(at0 + 79, "state", "+LEASE_EXPIRED", "CREATE_SESSION -> NFS4ERR_STALE_CLIENTID"),
    ev(at0 + 79, "state", "+RECLAIM_REBOOT", "CREATE_SESSION -> NFS4ERR_STALE_CLIENTID"),
    ev(at0 + 80, "clid", "EXCHANGE_ID ok", "clientid 0x6b017d5b00000001 owner o", "main", {
      clientid: 0x6b017d5b00000001n,
    }),
    ev(at0 + 85, "sess", "CREATE_SESSION ok", "session 010000005b7d016b0100000000000000, 32 slots"),
    ev(at0 + 85.5, "state", "-LEASE_EXPIRED", "clientid 0x6b017d5b00000001"),
    ev(at0 + 85.6, "step", "RECLAIM_REBOOT start", "CREATE_SESSION -> NFS4ERR_STALE_CLIENTID"),
    ev(at0 + 86, "open", "OPEN(CLAIM_PREVIOUS) reclaimed", "/vfs/f 09…:1 -> 01…:1"),
    ev(at0 + 86.4, "lock", "LOCK(reclaim) reclaimed", "/vfs/f write 0-"),
    ev(at0 + 86.6, "step", "RECLAIM_COMPLETE ok"),
    ev(at0 + 86.9, "state", "-RECLAIM_REBOOT", "reclaim done"),
  ];
}

Deno.test("parseRange() reads OFFSET and OFFSET:LENGTH in decimal and hex", () => {
  assert.deepEqual(parseRange("0"), { offset: 0n, length: MAX });
  assert.deepEqual(parseRange("100"), { offset: 100n, length: MAX });
  assert.deepEqual(parseRange("10:20"), { offset: 10n, length: 20n });
  assert.deepEqual(parseRange("0x10:0x20"), { offset: 16n, length: 32n });
  assert.deepEqual(parseRange("18446744073709551615"), { offset: MAX, length: MAX });
});

Deno.test("parseRange() rejects empty, negative, zero-length and past-2^64 ranges", () => {
  for (const bad of ["", "x", "-1", "1:", ":5", "1:0", "1:2:3", "18446744073709551615:2"]) {
    assert.throws(() => parseRange(bad), { name: "InvalidArgumentError" }, bad);
  }
});

Deno.test("simulate-reboot: usage errors exit 2 before connecting", async () => {
  const world = { servers: { "h:2049": dir({ f: file("data") }) } };
  const cases: [string[], RegExp][] = [
    [["--restart-cmd", "true", "--client"], /--client.*cannot be used with.*--restart-cmd/],
    [["--client", "--fail-reclaim", "open"], /cannot be used with/],
    [["--server", "--client"], /cannot be used with/],
    [["--fail-reclaim", "close"], /--fail-reclaim.*'close' is invalid.*open, lock/],
    [["--range", "5:0"], /--range.*LENGTH must be at least 1/],
    [["--wait", "0"], /--wait.*seconds/],
  ];
  for (const [args, pattern] of cases) {
    const r = await runFake(["simulate-reboot", ...args, "nfs://h/f"], world);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stdout, "");
  }
});

Deno.test("simulate-reboot --help shows the modes, the exit status and examples", async () => {
  const r = await runFake(["simulate-reboot", "--help"], { servers: {} });
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Usage: nfs4 simulate-reboot \[options\] <url>/);
  for (const option of ["--server", "--client", "--restart-cmd <cmd>", "--wait <seconds>"]) {
    assert.ok(r.stdout.includes(option), option);
  }
  assert.match(
    r.stdout,
    /--fail-reclaim <state>\s+make this reclaim fail[^]*\(choices: "open", "lock"\)/,
  );
  assert.match(r.stdout, /Exit status: 0 when all state was recovered and verified, 1 otherwise/);
  assert.match(r.stdout, /Examples:\n {2}\$ nfs4 simulate-reboot /);
});

Deno.test("simulate-reboot --help says which file the drill writes to and what --force does to it", async () => {
  const r = await runFake(["simulate-reboot", "--help"], { servers: {} });
  assert.equal(r.code, 0);
  const text = r.stdout.replace(/\s+/g, " ");
  assert.match(text, / url nfs:\/\/ URL of a directory \(the drill creates its own file there\)/);
  assert.match(text, /--force run on an existing non-empty file: up to 73 bytes from the start/);
  for (
    const rule of [
      "a URL naming a directory: a new file .nfs4-drill-XXXXXX in it (random suffix), created " +
      "exclusively (GUARDED4: it never replaces anything), removed at the end;",
      "a URL naming a file that does not exist: created the same way, removed at the end;",
      "an existing empty file: used, truncated back to 0 bytes at the end, never removed;",
      "an existing non-empty file: refused (exit 2), unless --force.",
      "also when the drill fails or is stopped by SIGINT or SIGTERM",
      "--force: run on an existing non-empty file. The drill then overwrites up to 73 bytes " +
      "from the start of the locked range (OFFSET of --range, 0 by default) with its text " +
      "markers (37 bytes before the reboot, 36 more right behind them after a server reboot) " +
      "and does not restore them;",
      "Nothing else is changed: the file is left in place, never truncated or removed.",
    ]
  ) {
    assert.ok(text.includes(rule), rule);
  }
});

Deno.test("parseTraceDuration() reads the state manager's durations", () => {
  assert.equal(parseTraceDuration("waiting 100.0 ms"), 100);
  assert.equal(parseTraceDuration("waiting 1.60 s"), 1600);
  assert.equal(parseTraceDuration("connection closed; in 3.2 ms"), 3.2);
  assert.equal(parseTraceDuration("no time here"), undefined);
});

Deno.test("graceWaitedMs() counts overlapping NFS4ERR_GRACE waits once", () => {
  const events = [
    ev(0, "retry", "OPEN -> NFS4ERR_GRACE", "waiting 100.0 ms", "observer"),
    ev(10, "retry", "LOCKT -> NFS4ERR_GRACE", "waiting 100.0 ms", "observer"),
    ev(100, "retry", "OPEN -> NFS4ERR_GRACE", "waiting 200.0 ms", "observer"),
    ev(500, "retry", "OPEN -> NFS4ERR_GRACE", "waiting 50.0 ms", "observer"),
    ev(0, "retry", "READ -> NFS4ERR_GRACE", "waiting 100.0 ms", "main"),
    ev(50, "retry", "READ resend", "connection closed; in 100.0 ms", "observer"),
  ];
  // [0,110] ∪ [100,300] ∪ [500,550] = 300 + 50
  assert.equal(graceWaitedMs(events, "observer"), 350);
  assert.equal(graceWaitedMs(events, "main"), 100);
  assert.equal(graceWaitedMs([], "main"), 0);
});

Deno.test("analyzeRecovery() times detect, re-establish and reclaim of a 4.1 server reboot", () => {
  const before = [
    ev(1, "state", "+LEASE_EXPIRED", "new client"),
    ev(2, "clid", "EXCHANGE_ID ok", "clientid 0x6b017c2900000009 owner o", "main", {
      clientid: 0x6b017c2900000009n,
    }),
    ev(3, "state", "-LEASE_EXPIRED", "clientid 0x6b017c2900000009"),
  ];
  const events = [
    ...before,
    ...reboot41(1000),
    ev(1090, "retry", "OPEN -> NFS4ERR_GRACE", "waiting 100.0 ms", "observer"),
    ev(1190, "retry", "OPEN -> NFS4ERR_GRACE", "waiting 200.0 ms", "observer"),
  ];
  const a = analyzeRecovery(events, { since: 1000, from: 1076 });
  assert.equal(a.connectionLostAt, 1044);
  assert.equal(a.reconnectedAt, 1077);
  assert.equal(a.detectedAt, 1078);
  assert.equal(a.detectedBy, "SEQUENCE -> NFS4ERR_BADSESSION");
  assert.equal(a.newClientId, "0x6b017d5b00000001");
  assert.equal(a.newSession, "010000005b7d016b0100000000000000");
  assert.deepEqual(a.reclaimed.map((r) => r.how), [
    "OPEN(CLAIM_PREVIOUS) reclaimed",
    "LOCK(reclaim) reclaimed",
  ]);
  assert.deepEqual(a.lost, []);
  assert.deepEqual(a.reclaimComplete, { at: 1086.6, result: "ok" });
  assert.equal(a.noGrace, false);
  assert.equal(a.durations.detectMs, 2);
  assert.equal(a.durations.reestablishMs, 6.5);
  assert.ok(Math.abs(a.durations.reclaimMs! - 1.3) < 1e-9);
  assert.ok(Math.abs(a.durations.recoveryMs! - 8.9) < 1e-9);
  assert.equal(a.durations.downMs, 33);
  assert.equal(a.durations.graceWaitedMs, 0);
  assert.equal(a.durations.observerGraceWaitedMs, 300);
  assert.deepEqual(a.graceRefusals.map((g) => [g.role, g.op, g.count]), [["observer", "OPEN", 2]]);

  const checks = recoveryChecks(a, {
    clientIdBefore: "0x6b017c2900000009",
    minorVersion: 1,
    lostAtEnd: [],
  });
  assert.deepEqual(checks.filter((c) => c.status === "fail"), []);
  assert.deepEqual(checks.map((c) => c.name), [
    "reboot detected",
    "client ID re-established",
    "open reclaimed with CLAIM_PREVIOUS",
    "lock reclaimed with reclaim=true",
    "RECLAIM_COMPLETE sent",
    "another client during grace",
    "no state lost",
  ]);
  assert.match(checks[0]!.detail, /^SEQUENCE -> NFS4ERR_BADSESSION after 2\.0 ms$/);
  assert.match(checks.at(-2)!.detail, /our reclaim finished 103\.1 ms before the last refusal/);
});

Deno.test("analyzeRecovery() takes the server's answer, not a refused connection, as detection", () => {
  const events = [
    ev(0, "conn", "connection lost", "connection closed"),
    ev(900, "state", "+CHECK_LEASE", "renewal failed: connection refused by 127.0.0.1:2049"),
    ev(2000, "conn", "reconnected", "to 127.0.0.1:2049"),
    ev(2001, "state", "-CHECK_LEASE", "NFS4ERR_STALE_CLIENTID"),
    ev(2001, "state", "+LEASE_EXPIRED", "RENEW -> NFS4ERR_STALE_CLIENTID"),
  ];
  const a = analyzeRecovery(events, { since: 0 });
  assert.equal(a.detectedBy, "RENEW -> NFS4ERR_STALE_CLIENTID");
  assert.equal(a.durations.detectMs, 2001, "from the connection loss");
  assert.equal(a.durations.downMs, 2000);
});

Deno.test("recoveryChecks() expects the injected reclaim failure and nothing else lost", () => {
  const events = reboot41(0).flatMap((e) => {
    if (e.event.event === "OPEN(CLAIM_PREVIOUS) reclaimed") {
      return [
        ev(e.at, "open", "reclaim fault injected", "/vfs/f"),
        ev(
          e.at,
          "open",
          "recovery failed, state marked bad",
          "/vfs/f: reclaim failed (fault injected)",
        ),
      ];
    }
    return e.event.event === "LOCK(reclaim) reclaimed" ? [] : [e];
  });
  const a = analyzeRecovery(events, { since: 0 });
  assert.equal(a.injected.length, 1);
  assert.equal(a.lost.length, 1);
  const checks = recoveryChecks(a, {
    clientIdBefore: "0x1",
    minorVersion: 1,
    failReclaim: "open",
    lostAtEnd: ["open /vfs/f: reclaim failed (fault injected)"],
  });
  assert.deepEqual(checks.filter((c) => c.status === "fail"), []);
  const names = checks.map((c) => c.name);
  assert.ok(names.includes("open reclaim fails as injected"));
  assert.ok(names.includes("lock not reclaimed"));
  assert.ok(!names.includes("no state lost"));
  // Without the fault, the same trace is a failure.
  const plain = recoveryChecks(a, { clientIdBefore: "0x1", minorVersion: 1, lostAtEnd: ["x"] });
  assert.deepEqual(plain.filter((c) => c.status === "fail").map((c) => c.name), [
    "open reclaimed with CLAIM_PREVIOUS",
    "lock reclaimed with reclaim=true",
    "no state lost",
  ]);
});

Deno.test("recoveryChecks() reports a reclaim refused with NO_GRACE as recovery without grace", () => {
  const events = [
    ev(0, "state", "+CHECK_LEASE", "READ -> NFS4ERR_STALE_STATEID"),
    ev(1, "state", "+LEASE_EXPIRED", "RENEW -> NFS4ERR_STALE_CLIENTID"),
    ev(1, "state", "+RECLAIM_REBOOT", "RENEW -> NFS4ERR_STALE_CLIENTID"),
    ev(2, "clid", "SETCLIENTID ok", "clientid 0x0000000200000001 owner o"),
    ev(3, "state", "-LEASE_EXPIRED", "clientid 0x0000000200000001"),
    ev(4, "step", "RECLAIM_REBOOT start"),
    ev(5, "state", "+RECLAIM_NOGRACE", "OPEN(CLAIM_PREVIOUS) -> NFS4ERR_NO_GRACE"),
    ev(6, "state", "-RECLAIM_REBOOT", "reclaim done"),
    ev(7, "open", "OPEN(CLAIM_NULL) recovered", "/vfs/f a -> b"),
    ev(8, "lock", "LOCK recovered", "/vfs/f write 0-"),
    ev(9, "state", "-RECLAIM_NOGRACE", "states recovered"),
  ];
  const a = analyzeRecovery(events, { since: 0 });
  assert.equal(a.noGrace, true);
  assert.equal(a.reclaimDoneAt, 9, "reclaim ends when no-grace recovery does");
  assert.equal(a.durations.reclaimMs, 5);
  assert.equal(a.newClientId, "0x0000000200000001");
  const checks = recoveryChecks(a, { clientIdBefore: "0x1", minorVersion: 0, lostAtEnd: [] });
  assert.deepEqual(checks.filter((c) => c.status === "fail"), []);
  const open = checks.find((c) => c.name === "open reclaimed with CLAIM_PREVIOUS")!;
  assert.equal(open.status, "info");
  assert.match(open.detail, /OPEN\(CLAIM_NULL\) recovered.*outside grace/);
  assert.equal(checks.find((c) => c.name === "reclaim within grace")?.status, "info");
});

Deno.test("timeline() keeps the notable events and folds each run of GRACE refusals into one line", () => {
  const events = [
    ev(5, "lease", "RENEW ok", "rtt 0.3 ms"),
    ...reboot41(0),
    ev(100, "retry", "OPEN -> NFS4ERR_GRACE", "waiting 100.0 ms", "observer"),
    ev(200, "retry", "OPEN -> NFS4ERR_GRACE", "waiting 200.0 ms", "observer"),
    ev(101, "state", "+LEASE_EXPIRED", "new client", "observer"),
  ];
  const marks = new Map([["restart command started", 0], ["restart command returned", 76]]);
  const lines = timeline(events, marks, 0);
  const text = lines.map((l) => `${l.role} ${l.what}`);
  assert.equal(text[0], "drill restart command started");
  assert.ok(!text.some((t) => t.includes("RENEW ok")), "routine renewals stay in --trace");
  assert.ok(!text.some((t) => t.startsWith("observer +")), "the observer's own recovery too");
  assert.ok(
    text.indexOf("main OPEN(CLAIM_PREVIOUS) reclaimed") < text.indexOf("main -RECLAIM_REBOOT"),
  );
  const grace = lines.filter((l) => l.what === "OPEN -> NFS4ERR_GRACE");
  assert.equal(grace.length, 1);
  assert.equal(grace[0]!.detail, "refused 2 time(s) until +0.200 s, waited 300.0 ms");
  for (let i = 1; i < lines.length; i++) assert.ok(lines[i - 1]!.at <= lines[i]!.at);
});

Deno.test("drillVerdict() says recovered, partial as injected, or failed with the failing checks", () => {
  const ok: DrillCheck[] = [{ name: "reboot detected", status: "ok", detail: "x" }];
  const drill = {
    mode: "server" as const,
    minorVersion: 1,
    path: "/vfs/.nfs4-drill-abcdef",
    durations: { detectMs: 2, reestablishMs: 1.5, reclaimMs: null },
  };
  assert.deepEqual(drillVerdict(ok, drill), {
    result: "recovered",
    verdict: "ok: all state recovered and verified on NFSv4.1: open and lock reclaimed in grace " +
      "(detect 2.0 ms, re-establish 1.5 ms, reclaim -)",
  });
  const injected: DrillCheck[] = [
    ...ok,
    { name: "lock reclaim fails as injected", status: "ok", detail: "y" },
  ];
  assert.deepEqual(drillVerdict(injected, { ...drill, failReclaim: "lock" }), {
    result: "partial",
    verdict: "partial: recovery was partial on NFSv4.1: the lock on /vfs/.nfs4-drill-abcdef was " +
      "lost, the open was reclaimed (reclaim made to fail); the client ID was re-established",
  });
  const failed: DrillCheck[] = [...ok, {
    name: "READ after the reboot",
    status: "fail",
    detail: "z",
  }];
  assert.deepEqual(drillVerdict(failed, { ...drill, mode: "client", minorVersion: 0 }), {
    result: "failed",
    verdict: "FAILED on NFSv4.0: READ after the reboot: z",
  });
});
