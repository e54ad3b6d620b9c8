/**
 * The usual path of a create against NFS-Ganesha, which keeps no persistent
 * reply cache, supports EXCLUSIVE4_1 and the mode in its createattrs, and
 * lists `mode` in its supported_attrs: the copy's temporaries are made
 * EXCLUSIVE4_1 (EXCLUSIVE4 on 4.0) with their mode, the OPEN's attrset says
 * it was set (RFC 8881 §18.16.3), so no SETATTR follows the OPEN, and no
 * warning about modes is given; the copy learns the destination's
 * supported_attrs in one COMPOUND, once (lib/client/copy/nfs_side.ts).
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../mod.ts";
import { copy, parseLocation } from "../../lib/client/copy/mod.ts";
import { serverTest, type TestServer } from "../_server.ts";

function connect(server: TestServer, vers: "4.0" | "4.1", events: string[]) {
  return Nfs4Client.connect({
    host: "127.0.0.1",
    port: server.port,
    version: vers,
    uid: 0,
    gid: 0,
    clientId: `nfs4-create-attrs-ganesha-${crypto.randomUUID()}`,
    onTrace: (e) => events.push(e.event),
  });
}

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `cp --vers ${vers} onto Ganesha: temporaries made exclusive with their mode, nothing set again after the OPEN, modes as coreutils gives them, no warning`,
    async (server) => {
      const dir = await Deno.makeTempDir({ prefix: "nfs4-create-attrs-ganesha-" });
      const events: string[] = [];
      const warnings: string[] = [];
      const errors: unknown[] = [];
      try {
        await Deno.writeTextFile(`${dir}/small`, "small\n");
        await Deno.writeTextFile(`${dir}/large`, "L".repeat(300_000));
        await Deno.chmod(`${dir}/small`, 0o640);
        await Deno.chmod(`${dir}/large`, 0o751);
        const client = await connect(server, vers, events);
        try {
          await copy(
            [parseLocation(`${dir}/small`), parseLocation(`${dir}/large`)],
            parseLocation(`nfs://127.0.0.1:${server.port}/vfs/`),
            {
              connect: () => Promise.resolve(client),
              onError: (e) => errors.push(e),
              onWarning: (message) => warnings.push(message),
              umask: 0o022,
            },
          );
        } finally {
          await client.close();
        }
        assert.deepEqual(errors, []);
        assert.deepEqual(warnings, []);
        assert.equal(await Deno.readTextFile(`${server.exportDir}/small`), "small\n");
        assert.equal((await Deno.readTextFile(`${server.exportDir}/large`)).length, 300_000);
        assert.equal((await Deno.stat(`${server.exportDir}/small`)).mode! & 0o7777, 0o640);
        assert.equal((await Deno.stat(`${server.exportDir}/large`)).mode! & 0o7777, 0o751);
        // Ganesha's attrset holds the mode it was given: nothing set again.
        assert.ok(!events.includes("create attributes not set"), events.join(" | "));
        assert.ok(!events.includes("EXCLUSIVE4_1 refused"));
        assert.ok(!events.includes("create attribute left out"));
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
}
