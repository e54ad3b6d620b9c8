/**
 * How a reboot drill words a step that got no answer by its --wait deadline
 * (lib/client/drill.ts timedOutStepDetail): another client's step that
 * timed out (refused with NFS4ERR_GRACE while the server stays in grace) is
 * said to be that, never put down to our own recovery.
 */

import assert from "node:assert/strict";
import { timedOutStepDetail } from "../../lib/client/drill.ts";

Deno.test("timedOutStepDetail(): another client's step that timed out is not our recovery", () => {
  const detail = timedOutStepDetail(
    { role: "observer", what: "another client's LOCKT write 0-" },
    { waitSeconds: 4, lastRetry: "LOCKT -> NFS4ERR_GRACE (waiting 1.60 s)" },
  );
  assert.equal(
    detail,
    "another client's LOCKT write 0-: no answer within --wait (4 s); that client's last retry: " +
      "LOCKT -> NFS4ERR_GRACE (waiting 1.60 s): the other client's step timed out, not our " +
      "recovery (judged by its own checks); the state is not verified by another client",
  );
});

Deno.test("timedOutStepDetail(): our own client's probe that timed out leaves the view unjudged", () => {
  const detail = timedOutStepDetail(
    { role: "main", what: "our own client's lease probe" },
    { waitSeconds: 120 },
  );
  assert.match(detail, /^our own client's lease probe: no answer within --wait \(120 s\): /);
  assert.match(detail, /could not be judged .*\(not verified\)$/);
  assert.doesNotMatch(detail, /last retry/);
});
