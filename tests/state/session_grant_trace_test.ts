/**
 * A first NFSv4.1 session granted too small to use (RFC 8881 §18.36.3:
 * the server may lower every fore-channel attribute asked for) is an
 * answer of the connect's version negotiation, as NFS4ERR_MINOR_VERS_MISMATCH
 * is: with `auto` the connect falls back to NFSv4.0. The state manager's
 * step ends `step LEASE_EXPIRED refused`, not `error LEASE_EXPIRED
 * failed`: before, every trace of a connect that went on to work on 4.0
 * carried a false error. Asked for 4.1, the connect fails with
 * SessionGrantError, its own one line; the trace says `clid NFSv4.1
 * session too small (NFSv4.1 was asked for)`. A session too small met
 * after the first one (a session reset) is still an `error`.
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import { SessionGrantError } from "../../lib/state/manager.ts";
import { connectTraced, told } from "../_connect_traced.ts";
import { harness } from "./_harness.ts";
import { ScriptedServer } from "./_scripted.ts";

const TOO_SMALL = { foreChannelGrant: { maxOperations: 4 } } as const;

function connect(version: "auto" | "4.1") {
  return connectTraced(
    new ScriptedServer({ now: () => performance.now(), ...TOO_SMALL }),
    version,
    "session-grant-trace",
  );
}

Deno.test("connect (auto) to a server granting a 4.1 session of 4 operations: NFSv4.0 is used, and the trace has no `error` event (RFC 8881 §18.36.3)", async () => {
  const { events, outcome } = await connect("auto");
  assert.ok(outcome instanceof Nfs4Client, String(outcome));
  assert.equal(outcome.minorVersion, 0);
  const lines = told(events);
  assert.deepEqual(
    events.filter((e) => e.category === "error").map((e) => e.event),
    [],
    lines.join("\n"),
  );
  assert.ok(
    lines.includes(
      "step LEASE_EXPIRED refused (NFSv4.1: the session granted is too small to use: " +
        "4 operations per COMPOUND (ca_maxoperations; nfs4 needs 8))",
    ),
    lines.join("\n"),
  );
  assert.ok(lines.includes("clid NFSv4.1 session too small (trying NFSv4.0)"), lines.join("\n"));
});

Deno.test("connect --vers 4.1 to a server granting a session of 4 operations: SessionGrantError, the step `refused`, no `error` event (RFC 8881 §18.36.3)", async () => {
  const { events, outcome } = await connect("4.1");
  assert.ok(outcome instanceof SessionGrantError, String(outcome));
  const lines = told(events);
  assert.deepEqual(
    events.filter((e) => e.category === "error").map((e) => e.event),
    [],
    lines.join("\n"),
  );
  assert.ok(lines.some((l) => l.startsWith("step LEASE_EXPIRED refused (")), lines.join("\n"));
  assert.ok(
    lines.includes("clid NFSv4.1 session too small (NFSv4.1 was asked for)"),
    lines.join("\n"),
  );
});

Deno.test("NFSv4.1: a session reset granted a session too small, after the first: still an `error` (RFC 8881 §18.36.3)", async () => {
  await using a = await harness(1);
  // The first session was fine; the server now grants less.
  (a.server as { foreChannelGrant: unknown }).foreChannelGrant = TOO_SMALL.foreChannelGrant;
  a.mark();
  a.server.reboot({ grace: false });
  const file = a.open("file").then(() => undefined, (e: unknown) => e);
  await a.drive(file, 50, 10_000);
  const errors = a.trace.filter((e) => e.category === "error");
  assert.ok(
    errors.some((e) => e.event.endsWith(" failed") && /session is too small/.test(e.detail ?? "")),
    told(a.trace).join("\n"),
  );
  assert.ok(!told(a.trace).some((l) => l.includes("refused (NFSv4.1: the session granted")));
});
