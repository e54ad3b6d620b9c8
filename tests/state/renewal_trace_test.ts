/**
 * What a lease line says of a renewal: who sent it (the renewer at 2/3 of
 * the lease, the CHECK_LEASE recovery step, or a caller's lease probe), so
 * that "renewed at 2/3 of the lease" can be read off the renewer's lines
 * alone; and the round trip of the exchange that was answered, with the
 * whole wait and its resends beside it when they differ (a reply lost and
 * sent again is not one slow round trip). RFC 7530 §9.5 (RENEW, any
 * stateful operation renews), RFC 8881 §8.3 (SEQUENCE renews).
 */

import assert from "node:assert/strict";
import { harness } from "./_harness.ts";

const RENEW = { 0: "RENEW", 1: "SEQUENCE" } as const;
const SPEC = { 0: "RFC 7530 §9.5", 1: "RFC 8881 §8.3" } as const;

for (const minor of [0, 1] as const) {
  Deno.test(
    `4.${minor}: a lease line says who sent the renewal: the renewer, the CHECK_LEASE step, a lease probe (${
      SPEC[minor]
    })`,
    async () => {
      await using h = await harness(minor, { leaseTime: 30 });
      await h.open();
      h.mark();
      // The renewer, at 2/3 of the lease.
      await h.tick(21_000);
      // The CHECK_LEASE step.
      h.m.setFlag("CHECK_LEASE", "test");
      await h.drive(h.m.waitForRecovery());
      // A caller's probe.
      await h.drive(h.m.renewNow());
      const lines = h.trace.filter((e) =>
        e.category === "lease" && e.event === `${RENEW[minor]} ok`
      );
      assert.deepEqual(
        lines.map((e) => [e.data?.["by"], /^[^:]+/.exec(e.detail ?? "")?.[0]]),
        [
          ["renewer", "renewer"],
          ["CHECK_LEASE", "CHECK_LEASE"],
          ["lease probe", "lease probe"],
        ],
        lines.map((e) => `${e.event} (${e.detail})`).join("\n"),
      );
      assert.match(
        lines[0]!.detail ?? "",
        /^renewer: rtt [0-9.]+ m?s, lease had [0-9.]+ s left, now 30\.00 s$/,
      );
    },
  );

  Deno.test(
    `4.${minor}: a renewal whose reply was lost and that was sent again reports the answered exchange's round trip, and the whole wait with its resends beside it (${
      SPEC[minor]
    })`,
    async () => {
      await using h = await harness(minor, { leaseTime: 30, callTimeoutMs: 2_000 });
      await h.open();
      h.channel.dropReplies(RENEW[minor], { times: 1 });
      h.mark();
      await h.drive(h.m.renewNow(), 50);
      const resends = h.events(["retry"]).filter((e) => e.endsWith("resend"));
      assert.equal(resends.length, 1, h.details(["retry", "lease"]).join("\n"));
      const line = h.trace.find((e) => e.category === "lease" && e.event === `${RENEW[minor]} ok`);
      assert.ok(line, h.details(["lease"]).join("\n"));
      assert.match(
        line.detail ?? "",
        /^lease probe: rtt 0\.0 ms, [0-9.]+ m?s with 1 resend\(s\), lease had /,
      );
      assert.equal(line.data?.["rttMs"], 0);
      assert.equal(line.data?.["resends"], 1);
      // The resend waited: the whole is longer than the answered exchange.
      assert.ok((line.data?.["tookMs"] as number) > 0, JSON.stringify(line.data));
    },
  );
}
