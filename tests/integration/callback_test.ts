/**
 * The callback channel against Ganesha (RFC 7530 §16.33.1, §17; RFC 8881
 * §2.10.3.1): on 4.0 the server reaches our listener and CB_NULL is
 * answered; on 4.1 the session has a backchannel and SEQUENCE never reports
 * the callback path down. Delegations themselves are proven with the
 * scripted server: Ganesha 4.3's VFS and MEM FSALs grant none.
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Nfs4Client } from "../../lib/client/client.ts";
import type { TraceEvent } from "../../lib/state/trace.ts";
import { serverTest } from "../_server.ts";

serverTest(
  "NFSv4.0: Ganesha reaches the callback listener and CB_NULL is answered (RFC 7530 §16.33.1)",
  async (server) => {
    const events: TraceEvent[] = [];
    const client = await Nfs4Client.connect({
      host: server.host,
      port: server.port,
      version: "4.0",
      clientId: `cb-test-${crypto.randomUUID()}`,
      onTrace: (e) => events.push(e),
    });
    try {
      const deadline = Date.now() + 5000;
      while (!events.some((e) => e.event === "CB_NULL") && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const names = events.filter((e) => e.category === "cb").map((e) => e.event);
      assert.ok(names.includes("callback listener"), names.join(", "));
      assert.ok(names.includes("server connected to the callback listener"), names.join(", "));
      assert.ok(names.includes("CB_NULL"), names.join(", "));
    } finally {
      await client.close();
    }
  },
  { delegations: true },
);

serverTest(
  "NFSv4.1: the session has a backchannel and the callback path stays up (RFC 8881 §18.36)",
  async (server) => {
    writeFileSync(join(server.exportDir, "f"), "data");
    const events: TraceEvent[] = [];
    const client = await Nfs4Client.connect({
      host: server.host,
      port: server.port,
      version: "4.1",
      clientId: `cb-test-${crypto.randomUUID()}`,
      onTrace: (e) => events.push(e),
    });
    try {
      const session = client.manager.client.session!;
      assert.ok(session.flags & 0x2, "CREATE_SESSION4_FLAG_CONN_BACK_CHAN granted");
      const file = await client.openRead("/vfs/f");
      // Several SEQUENCEs, including renewals.
      for (let i = 0; i < 5; i++) await client.manager.renewNow();
      await file.close();
      const bad = events.filter((e) =>
        /CB_PATH_DOWN|BACKCHANNEL_FAULT|no back channel|no backchannel/.test(
          `${e.event} ${e.detail ?? ""}`,
        )
      );
      assert.deepEqual(bad, []);
      assert.ok(!events.some((e) => e.event === "+BIND_CONN_TO_SESSION"));
    } finally {
      await client.close();
    }
  },
  { delegations: true },
);
