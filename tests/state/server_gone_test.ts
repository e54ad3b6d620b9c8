/**
 * A server that stops answering is given up on once (lib/state/manager.ts,
 * `#untilAnswered`): when an operation's resend budget runs out with the
 * server silent for all but one call timeout of it, later calls fail at
 * once, even when a reply to another request came just after this one went
 * out (pipelined READs when the server dies), and requests already resending
 * stop at their next try. Issue 14 item 4: a `cat` whose server died
 * mid-transfer otherwise spent a second budget on its CLOSE.
 */

import assert from "node:assert/strict";
import { ServerNotRespondingError } from "../../lib/state/manager.ts";
import { harness } from "./_harness.ts";

Deno.test("a reply to another request just after this one went out does not keep a silent server 'alive': the next call fails at once", async () => {
  await using h = await harness(0, { recoveryTimeoutMs: 4000, callTimeoutMs: 1000 });
  const file = await h.open();
  h.mark();
  // A goes out, then B; A is answered after B went out, then nothing more.
  h.channel.hold();
  const a = h.read(file);
  await h.tick(10, 10);
  h.channel.dropReplies("READ", { after: 1, times: 10_000, beforeServer: true });
  h.channel.silent = true;
  const b = h.read(file);
  b.catch(() => {});
  await h.tick(10, 10);
  h.channel.release();
  await h.drive(a, 10);
  const bStarted = h.clock.now() - 10;
  await assert.rejects(h.drive(b, 50), ServerNotRespondingError);
  assert.ok(
    h.clock.now() - bStarted <= 4000 + 200,
    `B gave up after ${h.clock.now() - bStarted} ms`,
  );
  const before = h.channel.log.length;
  const again = h.clock.now();
  await assert.rejects(h.drive(h.read(file), 50), ServerNotRespondingError);
  assert.ok(
    h.clock.now() - again <= 50,
    `no second budget: ${h.clock.now() - again} ms; ${
      h.details(["retry", "error"]).slice(-4).join(" | ")
    }`,
  );
  assert.equal(h.channel.log.length, before, "nothing sent to a server judged gone");
});
