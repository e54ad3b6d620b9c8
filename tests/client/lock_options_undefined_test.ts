/**
 * `LockOptions` takes `undefined` for an absent property, as a program
 * built with `exactOptionalPropertyTypes` (this project's own setting)
 * writes options built from flags (`signal: wait ? s : undefined`); and
 * against NFS-Ganesha a LOCK whose options are all undefined is the LOCK
 * `{}` sends: granted when free (a plain WRITE_LT, not a blocking
 * WRITEW_LT: RFC 8881 §9.6), refused at once with the holder named when
 * another client holds the range (RFC 7530 §16.10.4 LOCK4denied).
 */

import assert from "node:assert/strict";
import { LockConflictError, type LockOptions, Nfs4Client, PcapWriter } from "../../mod.ts";
import { serverTest } from "../_server.ts";
import { tsharkFields, tsharkPath } from "../_tshark.ts";

const RANGE = { type: "write", offset: 0n, length: 100n } as const;

/** Every property undefined: what a CLI whose flags were not given builds. */
const ALL_UNDEFINED: Required<LockOptions> = {
  blocking: undefined,
  signal: undefined,
  noWait: undefined,
  answerWithinMs: undefined,
};

Deno.test("LockOptions takes undefined for an absent property (exactOptionalPropertyTypes)", () => {
  // Compiles only when each optional property takes `undefined`.
  const flag = (name: string): string | undefined => (name === "wait" ? "5" : undefined);
  const wait = flag("wait");
  const options: LockOptions = {
    blocking: flag("blocking") !== undefined ? true : undefined,
    signal: wait ? new AbortController().signal : undefined,
    noWait: flag("no-wait") !== undefined ? true : undefined,
    answerWithinMs: wait ? Number(wait) * 1000 : undefined,
  };
  assert.equal(options.noWait, undefined);
  // The concrete class takes them too (its signature, not only the interface's).
  const typed: (f: Nfs4Client) => Promise<unknown> = async (c) => {
    const file = await c.open("/vfs/f", { access: "write" });
    await file.lock(RANGE, ALL_UNDEFINED);
  };
  assert.equal(typeof typed, "function");
});

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `Nfs4Client --vers ${vers}: lock() with every option undefined sends the LOCK {} sends (WRITE_LT on the wire, RFC 8881 §9.6) and is refused at once by another client's lock (RFC 7530 §16.10.4)`,
    async (server) => {
      await Deno.writeTextFile(`${server.exportDir}/f`, "data\n");
      const dir = await Deno.makeTempDir({ prefix: "nfs4-lock-options-" });
      const connect = (pcap: PcapWriter) =>
        Nfs4Client.connect({
          host: "127.0.0.1",
          port: server.port,
          version: vers,
          uid: 0,
          gid: 0,
          pcap,
        });
      const plainPcap = PcapWriter.open(`${dir}/plain.pcap`);
      const undefinedPcap = PcapWriter.open(`${dir}/undefined.pcap`);
      const plain = await connect(plainPcap);
      const undefinedOnes = await connect(undefinedPcap);
      try {
        // `{}` and all-undefined, each from its own client on its own range.
        const a = await plain.open("/vfs/f", { access: "write" });
        await a.lock(RANGE, {});
        const b = await undefinedOnes.open("/vfs/f", { access: "write" });
        await b.lock({ ...RANGE, offset: 200n }, ALL_UNDEFINED);
        const held = (c: Nfs4Client) =>
          c.describeState().opens.flatMap((o) => o.locks.flatMap((l) => l.ranges));
        assert.deepEqual(held(plain), ["write 0-99"]);
        assert.deepEqual(held(undefinedOnes), ["write 200-299"]);
        // A range another client holds: refused at once, its holder named, as with `{}`.
        const refused = await b.lock(RANGE, ALL_UNDEFINED).then(() => undefined, (e) => e);
        assert.ok(refused instanceof LockConflictError, String(refused));
        assert.equal(refused.holder.type, "write");
        assert.deepEqual(held(undefinedOnes), ["write 200-299"]);
        await a.close();
        await b.close();
      } finally {
        await plain.close();
        await undefinedOnes.close();
        plainPcap.close();
        undefinedPcap.close();
      }
      try {
        if (!tsharkPath) return;
        // The locktype4 of the LOCK calls (opcode 12) on the wire: 2 is
        // WRITE_LT, 4 would be WRITEW_LT (a blocking lock).
        const lockTypes = async (file: string) =>
          (await tsharkFields(file, [
            "-d",
            `tcp.port==${server.port},rpc`,
            "-Y",
            "rpc.msgtyp == 0 && nfs.opcode == 12",
          ], ["nfs.locktype4"])).map((row) => row[0]);
        assert.deepEqual(await lockTypes(`${dir}/plain.pcap`), ["2"]);
        // Its own range, then the one the other client holds: both as `{}` sends them.
        assert.deepEqual(await lockTypes(`${dir}/undefined.pcap`), ["2", "2"]);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
}
