/**
 * After an interrupt (Ctrl-C, SIGTERM, or `nfs4 lock` stopping its client
 * at a lost lock: StateManager.interrupt()) the client is ending: its
 * release has a short window, and nothing is renewed any more. The renewal
 * timer went on, each tick refused by the interrupt ("renewal failed …"
 * traced every period for as long as the process lived, as under
 * `nfs4 lock --on-lost ignore` while COMMAND ran on) and, on 4.1, a slot
 * taken for nothing. RFC 7530 §9.5, RFC 8881 §8.3: renewal is for state
 * the client keeps; the server frees what is left when the lease ends.
 * Driven by a fake clock.
 */

import assert from "node:assert/strict";
import { harness } from "./_harness.ts";

for (const [minor, op] of [[0, "RENEW"], [1, "SEQUENCE"]] as const) {
  Deno.test(`renewal: 4.${minor} no ${op} and no 'renewal failed' after an interrupt while state is held (RFC 7530 §9.5, RFC 8881 §8.3)`, async () => {
    await using h = await harness(minor);
    await h.open();
    h.m.interrupt(new Error("SIGINT"));
    h.mark();
    await h.tick(65_000);
    assert.deepEqual(h.timeline(), []);
    assert.deepEqual(h.events(["lease"]), []);
    assert.equal(h.clock.spins, 0);
  });
}
