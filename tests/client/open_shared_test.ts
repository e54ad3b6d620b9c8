/**
 * Shared opens against NFS-Ganesha (lib/state/files.ts openFile): a handle
 * that denies some of its own access (`both` deny `write`, `read` deny
 * `read`) and a second handle of the same client on the file asking for no
 * more than it holds. The server checks an OPEN of the same open owner
 * against its own deny too (RFC 7530 §9.9, §16.16.5; RFC 8881 §9.7), and
 * Ganesha refuses every such second OPEN (NFS4ERR_SHARE_DENIED), so the
 * client sends none: the second handle is one more user of the open. Either
 * handle closed, the other reads and writes on; both closed, the server
 * holds nothing (another client opens the file denying both). An OPEN
 * asking for more than the open holds is still sent, and refused.
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import type { OpenOptions } from "../../lib/client/api.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { filteredSink, type TraceEvent } from "../../lib/state/trace.ts";
import { serverTest } from "../_server.ts";

const shareDenied = (e: unknown) => e instanceof NfsError && e.status === S.NFS4ERR_SHARE_DENIED;

/** An `ops` event's COMPOUND holds an OPEN (not OPEN_CONFIRM, not OPEN_DOWNGRADE). */
const hasOpen = (e: TraceEvent) =>
  e.category === "ops" && /(^|[ ,])OPEN (ok|NFS4ERR_)/.test(e.event);

type Share = Pick<OpenOptions, "access" | "deny">;

const label = (s: Share) => `${s.access}${s.deny ? ` deny ${s.deny}` : ""}`;

/** The first handle's share, the second's: the second sends no OPEN. */
const SHARED: readonly (readonly [Share, Share])[] = [
  [{ access: "both", deny: "write" }, { access: "read" }],
  [{ access: "read", deny: "read" }, { access: "read" }],
  [{ access: "both", deny: "write" }, { access: "write" }],
  [{ access: "both", deny: "write" }, { access: "read", deny: "write" }],
  [{ access: "both", deny: "write" }, { access: "both", deny: "write" }],
];

for (const version of ["4.0", "4.1"] as const) {
  serverTest(
    `NFSv${version}: open() of a file this client holds open denying some of its own access, asking for no more, sends no OPEN and shares the open; closing either handle leaves the other working; both closed, the server holds nothing (RFC 7530 §9.9, §16.16.5; RFC 8881 §9.7)`,
    async (server) => {
      const events: TraceEvent[] = [];
      const connect = (name: string, onTrace?: (e: TraceEvent) => void) =>
        Nfs4Client.connect({
          host: "127.0.0.1",
          port: server.port,
          version,
          uid: 0,
          gid: 0,
          clientId: `open-shared-${name}-${crypto.randomUUID()}`,
          ...(onTrace ? { onTrace: filteredSink(onTrace, { categories: ["ops", "open"] }) } : {}),
        });
      const a = await connect("a", (e) => events.push(e));
      const b = await connect("b");
      const text = (data: Uint8Array) => new TextDecoder().decode(data);
      const bytes = (s: string) => new TextEncoder().encode(s);
      try {
        for (const [i, [first, second]] of SHARED.entries()) {
          for (const closeFirst of [true, false]) {
            const name = `f${i}${closeFirst ? "a" : "b"}`;
            const path = `/vfs/${name}`;
            const what = `${label(first)}, then ${label(second)}, closing the ${
              closeFirst ? "first" : "second"
            } first`;
            await Deno.writeTextFile(`${server.exportDir}/${name}`, "0123456789\n");
            const start = events.length;
            const one = await a.open(path, first);
            const mark = events.length;
            const two = await a.open(path, second);
            const since = events.slice(mark);
            assert.deepEqual(
              since.filter(hasOpen).map((e) => e.event),
              [],
              `${what}: no second OPEN\n${since.map((e) => e.event).join("\n")}`,
            );
            assert.ok(
              since.some((e) => e.category === "open" && e.event === "OPEN not sent (shared)"),
              what,
            );
            assert.equal(two.state, one.state, `${what}: one open state`);
            assert.equal(two.size, 11n, `${what}: the size, from the shared open's GETATTR`);

            const [gone, kept, keptShare] = closeFirst ? [one, two, second] : [two, one, first];
            await gone.close();
            if (keptShare.access !== "read") {
              await kept.write(0n, bytes("abc"));
            }
            if (keptShare.access !== "write") {
              const expected = keptShare.access === "read" ? "0123456789\n" : "abc3456789\n";
              assert.equal(text((await kept.read(0n, 100)).data), expected, what);
            } else {
              assert.equal(
                await Deno.readTextFile(`${server.exportDir}/${name}`),
                "abc3456789\n",
                what,
              );
            }
            await kept.close();
            assert.deepEqual(a.describeState().opens, [], `${what}: nothing held`);
            // No OPEN_DOWNGRADE the server refuses (the shared handle's share
            // was never an OPEN), which Ganesha 4.0 answers without taking
            // the seqid: the CLOSE after it would be refused NFS4ERR_BAD_SEQID.
            assert.deepEqual(
              events.slice(start).filter((e) => e.category === "open" && e.event.includes(" -> "))
                .map((e) => e.event),
              [],
              what,
            );

            // The server holds nothing of A's: B may deny both.
            const denying = await b.open(path, { access: "read", deny: "both" });
            await denying.close();
          }
        }
      } finally {
        await a.close();
        await b.close();
      }
      assert.equal(a.leftOnServer, undefined);
      assert.equal(b.leftOnServer, undefined);
    },
  );

  serverTest(
    `NFSv${version}: open() asking for more than the open held (read deny write, then write) sends the OPEN, and the server refuses it against the open's own deny (NFS4ERR_SHARE_DENIED, RFC 7530 §9.9); the open held is untouched`,
    async (server) => {
      const events: TraceEvent[] = [];
      await Deno.writeTextFile(`${server.exportDir}/f`, "kept\n");
      const a = await Nfs4Client.connect({
        host: "127.0.0.1",
        port: server.port,
        version,
        uid: 0,
        gid: 0,
        clientId: `open-shared-upgrade-${crypto.randomUUID()}`,
        onTrace: filteredSink((e) => events.push(e), { categories: ["ops"] }),
      });
      try {
        const denying = await a.open("/vfs/f", { access: "read", deny: "write" });
        const mark = events.length;
        await assert.rejects(a.open("/vfs/f", { access: "write" }), shareDenied);
        assert.equal(events.slice(mark).filter(hasOpen).length, 1, "the upgrade's OPEN was sent");
        assert.equal(new TextDecoder().decode((await denying.read(0n, 100)).data), "kept\n");
        await denying.close();
        assert.deepEqual(a.describeState().opens, []);
      } finally {
        await a.close();
      }
      assert.equal(a.leftOnServer, undefined);
    },
  );
}
