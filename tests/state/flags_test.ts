/**
 * The state manager's flag loop (lib/state/flags.ts, manager.ts): flags are
 * handled one at a time in FLAG_ORDER, the kernel's nfs4_state_manager order.
 */

import assert from "node:assert/strict";
import { FLAG_ORDER } from "../../lib/state/flags.ts";
import { drain, harness } from "./_harness.ts";

Deno.test("FLAG_ORDER is the kernel's nfs4_state_manager order", () => {
  assert.deepEqual(FLAG_ORDER, [
    "PURGE_STATE",
    "LEASE_EXPIRED",
    "CHECK_LEASE",
    "SESSION_RESET",
    "BIND_CONN_TO_SESSION",
    "RECLAIM_REBOOT",
    "TEST_STATEIDS",
    "RECLAIM_NOGRACE",
    "DELEGRETURN",
  ]);
});

Deno.test({
  name:
    "manager handles RECLAIM_NOGRACE, CHECK_LEASE and SESSION_RESET set together in FLAG_ORDER (RFC 8881 §2.10.13, §8.4.2)",
  async fn() {
    await using h = await harness(1);
    h.m.setFlag("RECLAIM_NOGRACE", "test");
    h.m.setFlag("CHECK_LEASE", "test");
    h.m.setFlag("SESSION_RESET", "test");
    await h.m.waitForRecovery();
    assert.deepEqual(h.steps(), [
      "+RECLAIM_NOGRACE",
      "+CHECK_LEASE",
      "+SESSION_RESET",
      "CHECK_LEASE start",
      "-CHECK_LEASE",
      "CHECK_LEASE done",
      "SESSION_RESET start",
      "-SESSION_RESET",
      "SESSION_RESET done",
      "RECLAIM_NOGRACE start",
      "-RECLAIM_NOGRACE",
      "RECLAIM_NOGRACE done",
    ]);
    assert.deepEqual(h.ops(), ["SEQUENCE", "DESTROY_SESSION", "CREATE_SESSION"]);
  },
});

Deno.test("manager takes flags set while a step runs in FLAG_ORDER, not in the order set (RFC 8881 §2.10.13, §8.4.2)", async () => {
  await using h = await harness(1);
  h.channel.hold();
  h.m.setFlag("CHECK_LEASE", "test");
  await drain();
  // The lease check's SEQUENCE is on the wire; meanwhile four more flags arrive.
  assert.equal(h.channel.heldCount, 1);
  h.m.setFlag("RECLAIM_NOGRACE", "test");
  h.m.setFlag("TEST_STATEIDS", "test");
  h.m.setFlag("BIND_CONN_TO_SESSION", "test");
  h.m.setFlag("SESSION_RESET", "test");
  h.channel.release();
  await h.m.waitForRecovery();
  assert.deepEqual(h.steps(), [
    "+CHECK_LEASE",
    "CHECK_LEASE start",
    "+RECLAIM_NOGRACE",
    "+TEST_STATEIDS",
    "+BIND_CONN_TO_SESSION",
    "+SESSION_RESET",
    "-CHECK_LEASE",
    "CHECK_LEASE done",
    "SESSION_RESET start",
    "-SESSION_RESET",
    "SESSION_RESET done",
    "BIND_CONN_TO_SESSION start",
    "-BIND_CONN_TO_SESSION",
    "BIND_CONN_TO_SESSION done",
    "TEST_STATEIDS start",
    "-TEST_STATEIDS",
    "TEST_STATEIDS done",
    "RECLAIM_NOGRACE start",
    "-RECLAIM_NOGRACE",
    "RECLAIM_NOGRACE done",
  ]);
  assert.deepEqual(h.ops(), [
    "SEQUENCE",
    "DESTROY_SESSION",
    "CREATE_SESSION",
    "BIND_CONN_TO_SESSION",
  ]);
});

Deno.test("setFlag() of a flag already set is not traced twice and runs its step once", async () => {
  await using h = await harness(0);
  h.channel.hold();
  h.m.setFlag("CHECK_LEASE", "first");
  h.m.setFlag("CHECK_LEASE", "second");
  await drain();
  h.channel.release();
  await h.m.waitForRecovery();
  assert.deepEqual(h.details(["state"]), ["+CHECK_LEASE (first)", "-CHECK_LEASE (lease valid)"]);
  assert.deepEqual(h.ops(), ["RENEW"]);
});

Deno.test("a flag's reason is the detail of its step's start event", async () => {
  await using h = await harness(0);
  h.m.setFlag("CHECK_LEASE", "because");
  await h.m.waitForRecovery();
  assert.deepEqual(h.details(["step"]).slice(0, 1), ["CHECK_LEASE start (because)"]);
});
