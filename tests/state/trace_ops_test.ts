/**
 * The `ops` trace category (lib/state/trace.ts, lib/state/manager.ts,
 * lib/state/callback.ts): one event per COMPOUND with its slot and sequence
 * id (4.1), each operation's status, bytes and round trip; runs of READs
 * summarised unless every one is asked for; a failing COMPOUND always told;
 * callbacks answered; nothing built when no sink asks for `ops`. Also the
 * server named once, and `+RECLAIM_REBOOT` saying when there is nothing to
 * reclaim. Against the scripted server with a fake clock.
 */

import assert from "node:assert/strict";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { getfh } from "../../lib/nfs4/ops/getfh.ts";
import { lookup } from "../../lib/nfs4/ops/lookup.ts";
import { putrootfh } from "../../lib/nfs4/ops/putrootfh.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { ShareAccess } from "../../lib/nfs4/constants.ts";
import { CALLBACK_PROGRAM } from "../../lib/state/callback.ts";
import {
  type CompoundTrace,
  filteredSink,
  formatTraceJson,
  formatTraceText,
  OPS_RUN_MAX,
  type TraceEvent,
  Tracer,
} from "../../lib/state/trace.ts";
import { drain, Harness, harness } from "./_harness.ts";
import { deliverCallbacksInMemory } from "./_scripted.ts";

/** Subscribes a sink for `ops` (and what else `categories` says) to `h`'s tracer. */
function listen(
  h: Harness,
  options: { categories?: TraceEvent["category"][]; everyOp?: boolean } = {},
): TraceEvent[] {
  const events: TraceEvent[] = [];
  h.m.tracer.subscribe(
    filteredSink((e) => events.push(e), {
      categories: options.categories ?? ["ops"],
      everyOp: options.everyOp ?? false,
    }),
  );
  return events;
}

const ops = (events: readonly TraceEvent[]) =>
  events.filter((e) => e.category === "ops").map((e) => e.event);

/** Looks up /vfs/missing: NFS4ERR_NOENT. */
async function lookupMissing(h: Harness): Promise<void> {
  await assert.rejects(
    h.m.run(() => [putrootfh(), lookup("vfs"), lookup("missing"), getfh()] as const),
    (e) => e instanceof NfsError && e.status === S.NFS4ERR_NOENT,
  );
}

for (const minor of [0, 1] as const) {
  const v = `4.${minor}`;
  const seq = (n: number) => (minor === 1 ? `slot=0 seq=${n}  SEQUENCE ok, ` : "");

  Deno.test(`${v}: an ops sink gets each COMPOUND with every op's status; the failing LOOKUP is NFS4ERR_NOENT`, async () => {
    await using h = await harness(minor);
    const events = listen(h);
    await lookupMissing(h);
    const [event, ...more] = events;
    assert.deepEqual(more, []);
    assert.equal(event?.category, "ops");
    // The ops after the failing one never ran: counted, not listed.
    assert.match(
      event!.event,
      new RegExp(
        `^${
          minor === 1 ? "slot=0 seq=\\d+  SEQUENCE ok, " : ""
        }PUTROOTFH ok, LOOKUP ok, LOOKUP NFS4ERR_NOENT \\(1 more not run\\)$`,
      ),
    );
    const data = event!.data as { ops: unknown[]; slot?: number; seqid?: number; ms: number };
    assert.deepEqual(data.ops, [
      ...(minor === 1 ? [{ op: "SEQUENCE", status: "NFS4_OK" }] : []),
      { op: "PUTROOTFH", status: "NFS4_OK" },
      { op: "LOOKUP", status: "NFS4_OK" },
      { op: "LOOKUP", status: "NFS4ERR_NOENT" },
    ]);
    assert.equal(data.slot, minor === 1 ? 0 : undefined);
    assert.equal(data.ms, 0, "the fake clock did not move");
  });

  Deno.test(`${v}: nobody asking for ops builds no ops event (default sinks get every category but ops)`, async () => {
    await using h = await harness(minor);
    assert.equal(h.m.tracer.wants("ops"), false);
    assert.equal(h.m.tracer.wants("state"), true);
    const file = await h.open("file");
    for (let i = 0; i < 5; i++) await h.read(file);
    await lookupMissing(h);
    assert.deepEqual(h.trace.filter((e) => e.category === "ops"), []);
    // A sink asking for ops alone gets no state events.
    const events = listen(h);
    assert.equal(h.m.tracer.wants("ops"), true);
    h.m.setFlag("CHECK_LEASE", "test");
    await h.m.waitForRecovery();
    assert.deepEqual(events.filter((e) => e.category !== "ops"), []);
    assert.ok(events.length >= 1, "the renewal COMPOUND itself");
  });

  Deno.test(`${v}: READs in a row are one summary event; any other COMPOUND and every failure is told after the run so far; ops-all tells each`, async () => {
    await using h = await harness(minor);
    const file = await h.open("file");
    const summarised = listen(h);
    const every = listen(h, { everyOp: true });
    for (let i = 0; i < 20; i++) await h.read(file);
    await lookupMissing(h);
    for (let i = 0; i < 3; i++) await h.read(file);
    h.m.tracer.flush();
    assert.deepEqual(ops(summarised).map((e) => e.replace(/^slot=0 seq=\d+ {2}/, "")), [
      "READ x20 ok",
      `${
        minor === 1 ? "SEQUENCE ok, " : ""
      }PUTROOTFH ok, LOOKUP ok, LOOKUP NFS4ERR_NOENT (1 more not run)`,
      "READ x3 ok",
    ]);
    const run = summarised[0]!;
    assert.match(
      run.detail!,
      /^260 B in 0\.00 s, 0 B -> 0 B$/,
      "13 bytes x 20, no wire sizes here",
    );
    assert.deepEqual(
      { ...run.data },
      { summary: true, op: "READ", count: 20, bytes: 260, sent: 0, received: 0, ms: 0 },
    );
    assert.equal(ops(every).length, 24);
    assert.match(
      ops(every)[0]!,
      new RegExp(`^${seq(0).replace(/0 {2}/, "\\d+  ")}PUTFH ok, READ ok$`),
    );
  });

  Deno.test(`${v}: a run of READs is told once a second, and a single READ as itself`, async () => {
    await using h = await harness(minor);
    const file = await h.open("file");
    const events = listen(h);
    for (let i = 0; i < 6; i++) {
      await h.read(file);
      await h.clock.advance(300);
    }
    // Told when the run spanned a second (the 5th READ at 1.2 s), the rest at the end.
    assert.deepEqual(ops(events), ["READ x5 ok"]);
    await h.m.shutdown();
    const told = ops(events);
    assert.match(told[1]!, /PUTFH ok, READ ok$/, "one READ is told as itself");
    assert.ok(!told.slice(1).some((e) => e.includes(" x")), told.join("\n"));
  });

  Deno.test(`${v}: the server is named once, and a fresh client's +RECLAIM_REBOOT says there is nothing to reclaim`, async () => {
    const h = new Harness(minor);
    await using _h = h;
    await h.m.start();
    const server = h.trace.filter((e) => e.category === "server");
    assert.deepEqual(
      server.map((e) => [e.event, e.detail]),
      [
        minor === 0 ? ["NFSv4.0: no implementation id", "scripted: SETCLIENTID carries none"] : [
          "NFSv4.1: no implementation id",
          'scripted: EXCHANGE_ID answered with none; server owner "scripted" (minor 0), scope "scripted"',
        ],
      ],
    );
    assert.deepEqual(
      h.trace.filter((e) => e.event === "+RECLAIM_REBOOT").map((e) => e.detail),
      ["new client ID; nothing to reclaim: a fresh client holds no state"],
    );
    // A server reboot with an open to reclaim: the reason names it, and the
    // server is not named again.
    await h.open("file");
    h.mark();
    h.server.reboot();
    await h.drive(h.m.renewNow().then(() => h.m.waitForRecovery()));
    // (4.1: SEQUENCE -> BADSESSION, then CREATE_SESSION finds the client ID gone.)
    assert.deepEqual(
      h.details(["state"]).filter((e) => e.startsWith("+RECLAIM_REBOOT")),
      [`+RECLAIM_REBOOT (${
        minor === 0 ? "RENEW" : "CREATE_SESSION"
      } -> NFS4ERR_STALE_CLIENTID; 1 open(s) to reclaim)`],
    );
    assert.equal(h.trace.filter((e) => e.category === "server").length, 1);
  });
}

Deno.test("4.1: a server's implementation id is told as sent, its control characters written out and a build date no Date holds as seconds; the client starts (RFC 8881 §18.35)", async () => {
  const h = new Harness(1, {
    implId: {
      domain: "evil\x1b]0;x\x07.org",
      name: "srv\nline",
      date: { seconds: 2n ** 62n, nseconds: 0 },
    },
  });
  await using _h = h;
  await h.m.start();
  const [server] = h.trace.filter((e) => e.category === "server");
  assert.equal(server!.event, "NFSv4.1: srv\nline (evil\x1b]0;x\x07.org)");
  assert.match(server!.detail!, /^scripted, built 4611686018427387904 s since 1970; server owner/);
  assert.equal(
    formatTraceText(server!),
    "   0.000 server NFSv4.1: srv\\x0aline (evil\\x1b]0;x\\x07.org)  (" + server!.detail + ")",
  );
});

Deno.test("4.1: a CB_COMPOUND answered is an ops event (callback, slot, seqid, each op's status, bytes in and out)", async () => {
  const options = { delegations: { read: true }, ownerId: "client-a" };
  const a = new Harness(1, options);
  await using _a = a;
  deliverCallbacksInMemory(a.server);
  const b = new Harness(1, { server: a.server, ownerId: "client-b" });
  await using _b = b;
  for (const h of [a, b]) {
    h.channel.enableBackchannel();
    await h.m.start();
  }
  const events = listen(a);
  await a.open("file", ShareAccess.OPEN4_SHARE_ACCESS_READ);
  await b.drive(b.open("file", ShareAccess.OPEN4_SHARE_ACCESS_WRITE));
  await drain();
  const callbacks = events.filter((e) => e.data?.["callback"] === true);
  assert.equal(callbacks.length, 1);
  const cb = callbacks[0]!;
  assert.match(
    cb.event,
    /^callback xid=0x[0-9a-f]{8} slot=0 seq=1 {2}CB_SEQUENCE ok, CB_RECALL ok$/,
  );
  assert.match(cb.detail!, /^\d+ B in -> \d+ B out, 0\.00 ms$/);
  assert.deepEqual((cb.data as { ops: unknown }).ops, [
    { op: "CB_SEQUENCE", status: "NFS4_OK" },
    { op: "CB_RECALL", status: "NFS4_OK" },
  ]);
});

Deno.test("4.0: a CB_RECALL answered is an ops event", async () => {
  const a = new Harness(0, { delegations: { read: true }, ownerId: "client-a" });
  await using _a = a;
  deliverCallbacksInMemory(a.server);
  const b = new Harness(0, { server: a.server, ownerId: "client-b" });
  await using _b = b;
  for (const h of [a, b]) {
    await h.m.start();
    h.channel.attachCallbacks(CALLBACK_PROGRAM, h.m.callbacks.handler);
  }
  const events = listen(a);
  await a.open("file", ShareAccess.OPEN4_SHARE_ACCESS_READ);
  await b.drive(b.open("file", ShareAccess.OPEN4_SHARE_ACCESS_WRITE));
  await drain();
  const callbacks = events.filter((e) => e.data?.["callback"] === true).map((e) => e.event);
  assert.equal(callbacks.length, 1, callbacks.join("\n"));
  assert.match(callbacks[0]!, /^callback xid=0x[0-9a-f]{8} {2}CB_RECALL ok$/);
});

// ------------------------------------------------------------- the Tracer

const LOOKUP_NOENT: CompoundTrace = {
  direction: "call",
  xid: 0x1a2b3c4d,
  slot: 0,
  seqid: 5,
  ops: ["SEQUENCE", "PUTROOTFH", "LOOKUP"],
  outcomes: [
    { name: "SEQUENCE", status: S.NFS4_OK },
    { name: "PUTROOTFH", status: S.NFS4_OK },
    { name: "LOOKUP", status: S.NFS4ERR_NOENT },
  ],
  sentBytes: 180,
  receivedBytes: 96,
  ms: 0.31,
};

Deno.test("Tracer.compound(): the text and JSON forms of a COMPOUND", () => {
  let now = 1000;
  const events: TraceEvent[] = [];
  const tracer = new Tracer(
    () => now,
    filteredSink((e) => events.push(e), { categories: ["ops"] }),
  );
  now += 4;
  tracer.compound(LOOKUP_NOENT);
  assert.equal(
    formatTraceText(events[0]!),
    "   0.004 ops   xid=0x1a2b3c4d slot=0 seq=5  SEQUENCE ok, PUTROOTFH ok, LOOKUP NFS4ERR_NOENT  (180 B -> 96 B, 0.31 ms)",
  );
  assert.deepEqual(JSON.parse(formatTraceJson(events[0]!)), {
    t: 0.004,
    cat: "ops",
    event: "xid=0x1a2b3c4d slot=0 seq=5  SEQUENCE ok, PUTROOTFH ok, LOOKUP NFS4ERR_NOENT",
    detail: "180 B -> 96 B, 0.31 ms",
    xid: "0x1a2b3c4d",
    slot: 0,
    seqid: 5,
    ops: [
      { op: "SEQUENCE", status: "NFS4_OK" },
      { op: "PUTROOTFH", status: "NFS4_OK" },
      { op: "LOOKUP", status: "NFS4ERR_NOENT" },
    ],
    sent: 180,
    received: 96,
    ms: 0.31,
  });
  // No reply at all: the ops sent, and why.
  tracer.compound({
    direction: "call",
    xid: 7,
    ops: ["PUTFH", "READ"],
    error: "timed out after 2 s",
    sentBytes: 140,
    ms: 2000,
  });
  assert.equal(
    formatTraceText(events[1]!),
    "   0.004 ops   xid=0x00000007  PUTFH, READ: no reply  (140 B -> nothing, 2000 ms: timed out after 2 s)",
  );
});

Deno.test("Tracer: a READ summary names the count, data bytes, time, wire bytes and xids", () => {
  let now = 0;
  const events: TraceEvent[] = [];
  const tracer = new Tracer(
    () => now,
    filteredSink((e) => events.push(e), { categories: ["ops"] }),
  );
  const read = (xid: number): CompoundTrace => ({
    direction: "call",
    xid,
    ops: ["PUTFH", "READ"],
    outcomes: [
      { name: "PUTFH", status: S.NFS4_OK },
      { name: "READ", status: S.NFS4_OK, value: { eof: false, data: new Uint8Array(1 << 20) } },
    ],
    sentBytes: 140,
    receivedBytes: (1 << 20) + 68,
    ms: 2,
  });
  for (let i = 0; i < 512; i++) {
    now += 1.95;
    tracer.compound(read(0x100 + i));
  }
  tracer.flush();
  assert.deepEqual(events.map(formatTraceText), [
    "   0.998 ops   READ x512 ok  (512.0 MiB in 1.00 s, 70.0 KiB -> 512.0 MiB, xid 0x00000100..0x000002ff)",
  ]);
  assert.equal(events[0]!.data?.["bytes"], 512 * (1 << 20));
});

Deno.test(`Tracer: a run of READs is told at ${OPS_RUN_MAX} even within a second; WRITEs start a run of their own`, () => {
  const events: TraceEvent[] = [];
  const tracer = new Tracer(() => 0, filteredSink((e) => events.push(e), { categories: ["ops"] }));
  const io = (op: "READ" | "WRITE"): CompoundTrace => ({
    direction: "call",
    ops: ["PUTFH", op],
    outcomes: [
      { name: "PUTFH", status: S.NFS4_OK },
      {
        name: op,
        status: S.NFS4_OK,
        value: op === "READ" ? { data: new Uint8Array(10) } : { count: 10 },
      },
    ],
    ms: 0,
  });
  for (let i = 0; i < OPS_RUN_MAX + 1; i++) tracer.compound(io("READ"));
  tracer.compound(io("WRITE"));
  tracer.compound(io("WRITE"));
  tracer.flush();
  assert.deepEqual(events.map((e) => e.event), [
    `READ x${OPS_RUN_MAX} ok`,
    "PUTFH ok, READ ok",
    "WRITE x2 ok",
  ]);
});

Deno.test("Tracer: a sink without a filter gets every category but ops; unsubscribing tells its run first", () => {
  const plain: TraceEvent[] = [];
  const opsOnly: TraceEvent[] = [];
  const tracer = new Tracer(() => 0, (e) => plain.push(e));
  assert.equal(tracer.wants("ops"), false);
  tracer.compound(LOOKUP_NOENT);
  assert.equal(plain.length, 0);
  const off = tracer.subscribe(filteredSink((e) => opsOnly.push(e), { categories: ["ops"] }));
  tracer.emit("state", "+CHECK_LEASE");
  tracer.emit("server", "NFSv4.0: no implementation id");
  assert.deepEqual(plain.map((e) => e.event), ["+CHECK_LEASE", "NFSv4.0: no implementation id"]);
  assert.deepEqual(opsOnly.map((e) => e.event), ["NFSv4.0: no implementation id"], "server always");
  const read: CompoundTrace = {
    direction: "call",
    ops: ["PUTFH", "READ"],
    outcomes: [
      { name: "PUTFH", status: S.NFS4_OK },
      { name: "READ", status: S.NFS4_OK, value: { data: new Uint8Array(1) } },
    ],
    ms: 0,
  };
  tracer.compound(read);
  tracer.compound(read);
  assert.equal(opsOnly.length, 1, "the run is pending");
  off();
  assert.deepEqual(opsOnly.map((e) => e.event).slice(1), ["READ x2 ok"]);
  assert.equal(tracer.wants("ops"), false);
});
