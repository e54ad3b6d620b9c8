/**
 * NFSv4.0's EXCLUSIVE4 create carries no attributes (RFC 7530 §16.16.5):
 * the server may keep the create's verifier in the file's times, and says
 * which in the OPEN's attrset; "the client SHOULD" then set them (the
 * Linux client's nfs4_exclusive_attrset sets them to the server's time),
 * with the mode it wanted, in one SETATTR right after the OPEN. A mode
 * is not sent to a server whose file system has no mode attribute, nor
 * in the CREATE of a directory, fifo, socket or device.
 */

import assert from "node:assert/strict";
import type { SettableAttributes } from "../../lib/nfs4/attrs.ts";
import { Attr } from "../../lib/nfs4/attrs.ts";
import type { SetattrArgs } from "../../lib/nfs4/ops/setattr.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { noteCreateSupport } from "../../lib/state/files.ts";
import { withScriptedClient } from "./_scripted_client.ts";

async function exclusiveCreate(
  options: { verifierInTimes: boolean; noMode?: boolean },
  mode: number | undefined,
): Promise<SettableAttributes[]> {
  const sent: SettableAttributes[] = [];
  await withScriptedClient(
    { verifierInTimes: options.verifierInTimes },
    "4.0",
    "exclusive4-follow",
    async (client, server) => {
      server.intercept("SETATTR", (args) => void sent.push((args as SetattrArgs).attrs), {
        times: 100,
      });
      if (options.noMode) {
        noteCreateSupport(client.manager, {
          supported: new Set([Attr.TYPE, Attr.SIZE, Attr.TIME_ACCESS, Attr.TIME_MODIFY]),
        });
      }
      const file = await client.open("/vfs/x", {
        access: "write",
        create: "exclusive",
        ...(mode !== undefined ? { mode } : {}),
      });
      await file.close();
    },
  );
  return sent;
}

Deno.test("4.0 EXCLUSIVE4 whose attrset names the times (the verifier's place): one SETATTR gives them the server's time, with the mode (RFC 7530 §16.16.5)", async () => {
  assert.deepEqual(await exclusiveCreate({ verifierInTimes: true }, 0o600), [
    { mode: 0o600, timeAccessSet: "server", timeModifySet: "server" },
  ]);
});

Deno.test("4.0 EXCLUSIVE4 without a mode asked for still gets the verifier's times set", async () => {
  assert.deepEqual(await exclusiveCreate({ verifierInTimes: true }, undefined), [
    { timeAccessSet: "server", timeModifySet: "server" },
  ]);
});

Deno.test("4.0 EXCLUSIVE4 with an empty attrset and no mode: no SETATTR at all", async () => {
  assert.deepEqual(await exclusiveCreate({ verifierInTimes: false }, undefined), []);
});

Deno.test("4.0 EXCLUSIVE4 on a file system without the mode attribute: the mode is not sent, the times are", async () => {
  assert.deepEqual(await exclusiveCreate({ verifierInTimes: true, noMode: true }, 0o600), [
    { timeAccessSet: "server", timeModifySet: "server" },
  ]);
});

for (const version of ["4.0", "4.1"] as const) {
  Deno.test(`${version}: mkdir and mknod on a file system without the mode attribute send no mode (an ACL-only volume refused it NFS4ERR_ATTRNOTSUPP)`, async () => {
    const sent: unknown[] = [];
    await withScriptedClient(
      { supportedAttrs: [Attr.SUPPORTED_ATTRS, Attr.TYPE, Attr.SIZE, Attr.FILEID, Attr.CHANGE] },
      version,
      "create-no-mode",
      async (client, server) => {
        server.intercept("CREATE", (args) => void sent.push((args as { attrs: unknown }).attrs), {
          times: 10,
        });
        noteCreateSupport(client.manager, {
          supported: new Set([Attr.SUPPORTED_ATTRS, Attr.TYPE, Attr.SIZE, Attr.FILEID]),
        });
        // The scripted server makes no directories or fifos (CREATE is
        // answered NFS4ERR_NOTSUPP): what is looked at is what was sent.
        const notsupp = (e: unknown) => e instanceof NfsError && e.status === S.NFS4ERR_NOTSUPP;
        await assert.rejects(client.mkdir("/vfs/d", 0o755), notsupp);
        await assert.rejects(client.mknod("/vfs/p", "fifo", 0o644), notsupp);
      },
    );
    assert.deepEqual(sent, [{}, {}]);
  });
}
