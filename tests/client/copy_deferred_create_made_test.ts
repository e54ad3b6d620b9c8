/**
 * DeferredCreateWriter.settle() (lib/client/copy/nfs_create.ts) after its
 * ordinary create (the OPEN of a file too large for one COMPOUND) failed:
 * "nothing made" only when the server answered, at the OPEN or before it, a
 * request that had not run before (RFC 8881 §18.16.3, RFC 7530 §16.16.5:
 * the create is part of the OPEN that failed). Then the copy has no
 * temporary to remove nor to name as left (cp into a read-only place on
 * 4.1 said its temporary "is left on the server"). Anything that may have
 * made the file (no reply, an answer to a resend, a failure after the OPEN,
 * a write after it) stays "made", so the temporary is still removed.
 */

import assert from "node:assert/strict";
import { DeferredCreateWriter } from "../../lib/client/copy/nfs_create.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";

/** A DeferredCreate whose ordinary create fails with `failure`, or whose writer's writes do. */
function deferred(
  outcome: { createFails: unknown } | { writeFails: unknown },
): DeferredCreateWriter {
  const ordinary = {
    write: () => "writeFails" in outcome ? Promise.reject(outcome.writeFails) : Promise.resolve(),
    finish: () => Promise.resolve(),
    abort: () => Promise.resolve(),
    useSource: () => {},
    state: undefined,
  };
  const create = {
    path: "nfs://srv/vfs/d/.t",
    limit: 4,
    chunkSize: 1 << 20,
    create: () =>
      "createFails" in outcome ? Promise.reject(outcome.createFails) : Promise.resolve(ordinary),
    createInOne: () => Promise.reject(new Error("not used")),
    writerFor: () => ordinary,
  } as unknown as ConstructorParameters<typeof DeferredCreateWriter>[0];
  return new DeferredCreateWriter(create);
}

/** More than the writer holds for one COMPOUND: the ordinary create is made at once. */
const TOO_BIG = new Uint8Array(8);

const CASES: readonly [string, { createFails: unknown } | { writeFails: unknown }, string][] = [
  [
    "OPEN refused NFS4ERR_ROFS",
    { createFails: new NfsError(S.NFS4ERR_ROFS, "OPEN") },
    "nothing made",
  ],
  [
    "OPEN refused NFS4ERR_ACCESS",
    { createFails: new NfsError(S.NFS4ERR_ACCESS, "OPEN") },
    "nothing made",
  ],
  [
    "the walk's LOOKUP refused NFS4ERR_NOENT",
    { createFails: new NfsError(S.NFS4ERR_NOENT, "LOOKUP") },
    "nothing made",
  ],
  [
    "OPEN's resend answered NFS4ERR_EXIST (the first run may have made it)",
    { createFails: new NfsError(S.NFS4ERR_EXIST, "OPEN", { answeredResend: true }) },
    "made",
  ],
  [
    "OPEN's resend answered NFS4ERR_ROFS (the first run may have made it)",
    { createFails: new NfsError(S.NFS4ERR_ROFS, "OPEN", { answeredResend: true }) },
    "made",
  ],
  ["no reply (the outcome unknown)", { createFails: new Error("no reply in 30 s") }, "made"],
  [
    "a GETATTR after the OPEN refused",
    { createFails: new NfsError(S.NFS4ERR_SERVERFAULT, "GETATTR") },
    "made",
  ],
  [
    "opened, then its first WRITE refused",
    { writeFails: new NfsError(S.NFS4ERR_NOSPC, "WRITE") },
    "made",
  ],
];

for (const [what, outcome, expected] of CASES) {
  Deno.test(`DeferredCreateWriter: ordinary create failed, ${what}: settle() says ${expected} (RFC 8881 §18.16.3)`, async () => {
    const writer = deferred(outcome);
    await assert.rejects(writer.write(TOO_BIG));
    assert.equal(await writer.settle(), expected);
    await writer.abort();
  });
}
