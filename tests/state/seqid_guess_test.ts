/**
 * A 4.0 owner's seqid after a request of it went unanswered (owners.ts
 * assumeRan: taken as run, RFC 7530 §9.1.7) and the next request was
 * refused NFS4ERR_BAD_SEQID: the unanswered one did not run. The server
 * takes its last seqid as a replay and the one after as the next; a
 * refused x + 1 says its last is neither x nor x + 1, so x is no replay.
 * The seqid goes back one at a time, never below the first unanswered
 * request's, and any other answer confirms the guess.
 */

import assert from "node:assert/strict";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { LockOwner } from "../../lib/state/owners.ts";

Deno.test("StateOwner.takeBackGuess() after one unanswered request goes back to its seqid at once, then has nothing to take back (RFC 7530 §9.1.7)", () => {
  const owner = new LockOwner("t");
  owner.seqid = 5;
  owner.assumeRan();
  assert.equal(owner.seqid, 6);
  assert.equal(owner.guessed, true);
  assert.equal(owner.takeBackGuess(), true);
  assert.equal(owner.seqid, 5);
  assert.equal(owner.guessed, false);
  assert.equal(owner.takeBackGuess(), false);
  assert.equal(owner.seqid, 5);
});

Deno.test("StateOwner.takeBackGuess() after two unanswered requests goes back one at a time (never to a seqid the server may take as a replay), down to the first's", () => {
  const owner = new LockOwner("t");
  owner.seqid = 5;
  owner.assumeRan();
  owner.assumeRan();
  assert.equal(owner.seqid, 7);
  assert.equal(owner.takeBackGuess(), true);
  assert.equal(owner.seqid, 6, "the second did not run; the first may have");
  assert.equal(owner.guessed, true);
  assert.equal(owner.takeBackGuess(), true);
  assert.equal(owner.seqid, 5, "neither ran");
  assert.equal(owner.takeBackGuess(), false);
});

Deno.test("StateOwner.advance() with any answer but NFS4ERR_BAD_SEQID confirms the guess: nothing is taken back after it", () => {
  const owner = new LockOwner("t");
  owner.seqid = 5;
  owner.assumeRan();
  owner.advance(S.NFS4ERR_BAD_SEQID);
  assert.equal(owner.guessed, true, "BAD_SEQID confirms nothing");
  owner.advance(S.NFS4_OK);
  assert.equal(owner.seqid, 7);
  assert.equal(owner.guessed, false);
  assert.equal(owner.takeBackGuess(), false);
  owner.assumeRan();
  owner.resetSeqid();
  assert.equal(owner.guessed, false, "a new client ID starts over");
});
