/**
 * What a broken or hostile NFSv4.1 server's session numbers may size: the
 * slot table stays within the slots the client asked for, whatever
 * CREATE_SESSION grants and SEQUENCE names (RFC 8881 §18.36.3, §18.46.3).
 * Before this was held, a grant of 2^32 - 1 slots made the client build a
 * table of that many (out of memory, or a hang).
 */

import assert from "node:assert/strict";
import { harness } from "./_harness.ts";
import { ClientRecord } from "../../lib/state/client.ts";
import { systemClock } from "../../lib/state/clock.ts";
import { MAX_SLOT_TABLE, SlotTable } from "../../lib/state/slot_table.ts";
import { SessionGrantError } from "../../lib/state/manager.ts";

const UINT32_MAX = 0xffffffff;

Deno.test("CREATE_SESSION granting 2^32 - 1 slots: the client uses the 32 it asked for (RFC 8881 §18.36.3)", async () => {
  await using h = await harness(1, { maxSlots: 32, claimedSlots: UINT32_MAX });
  const session = h.m.client.session!;
  assert.equal(session.slots.size, 32);
  const file = await h.open();
  assert.equal(await h.readText(file), "hello, world\n");
  // Every reply named sr_target_highest_slotid 2^32 - 2: the table did not grow.
  assert.equal(session.slots.size, 32);
  assert.equal(session.slots.serverHighest, UINT32_MAX - 1);
});

Deno.test("CREATE_SESSION granting more slots than asked: the trace names both (RFC 8881 §18.36.3)", async () => {
  await using h = await harness(1, { maxSlots: 32, claimedSlots: 1000, noStart: true });
  await h.m.start();
  const created = h.trace.find((e) => e.event === "CREATE_SESSION ok");
  assert.match(created?.detail ?? "", /, 32 slots \(asked 32, granted 1000\), /);
});

Deno.test("SlotTable.update(): a target and highest slot id of 2^32 - 2 grow the table to its limit, no further (RFC 8881 §18.46.3)", () => {
  const changes: string[] = [];
  const slots = new SlotTable(4, (c) => changes.push(`${c.from} -> ${c.to}`), 16);
  slots.update(1, 1);
  slots.update(UINT32_MAX - 1, UINT32_MAX - 1);
  assert.equal(slots.size, 16);
  assert.deepEqual(changes, ["4 -> 2", "2 -> 16"]);
  // Without a limit given, the Linux client's bound.
  const unbounded = new SlotTable(4);
  unbounded.update(UINT32_MAX - 1, UINT32_MAX - 1);
  assert.equal(unbounded.size, MAX_SLOT_TABLE);
});

Deno.test("lease_time 2^32 - 1 s: the real clock's renewal timer waits, it does not fire at once (RFC 7530 §5.8.1.11)", async () => {
  const record = new ClientRecord({
    server: "s:2049",
    minorVersion: 1,
    ownerId: "o",
    verifier: new Uint8Array(8),
  });
  record.leaseTime = UINT32_MAX;
  const period = record.renewalPeriodMs;
  assert.ok(period > 0x7fffffff, `period ${period} ms`);
  let fired = false;
  const timer = systemClock.setTimer(() => (fired = true), period);
  await new Promise((resolve) => setTimeout(resolve, 50));
  timer.cancel();
  assert.equal(fired, false);
});

for (
  const [grant, words] of [
    [{ maxOperations: 4 }, "4 operations per COMPOUND (ca_maxoperations; nfs4 needs 8)"],
    [{ maxRequestSize: 2048 }, "requests of 2048 bytes (ca_maxrequestsize; nfs4 needs 8192)"],
    [{ maxResponseSize: 1024 }, "replies of 1024 bytes (ca_maxresponsesize; nfs4 needs 8192)"],
  ] as const
) {
  Deno.test(`CREATE_SESSION granting ${words.split(" (")[0]}: the session is refused and destroyed with the client ID, nothing else sent (RFC 8881 §18.36.3)`, async () => {
    await using h = await harness(1, { foreChannelGrant: grant, noStart: true });
    await assert.rejects(
      h.m.start(),
      (e) => {
        const error = e instanceof SessionGrantError ? e : (e as Error).cause;
        assert.ok(error instanceof SessionGrantError, String(e));
        assert.equal(
          error.message,
          `scripted: the server's NFSv4.1 session is too small to use: ${words}`,
        );
        return true;
      },
    );
    await h.m.shutdown();
    assert.deepEqual(h.ops(), [
      "EXCHANGE_ID",
      "CREATE_SESSION",
      "DESTROY_SESSION",
      "DESTROY_CLIENTID",
    ]);
  });
}

Deno.test("CREATE_SESSION granting the least nfs4 works in (8 operations, 8 KiB each way): a file is read as usual (RFC 8881 §18.36.3)", async () => {
  await using h = await harness(1, {
    foreChannelGrant: { maxOperations: 8, maxRequestSize: 8192, maxResponseSize: 8192 },
  });
  const file = await h.open();
  assert.equal(await h.readText(file), "hello, world\n");
});
