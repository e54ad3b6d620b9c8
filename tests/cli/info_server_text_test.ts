/**
 * `nfs4 info` against Ganesha behind the fault proxy (tests/_fault_proxy.ts),
 * which stands in for servers that say other things:
 *
 * - EXCHANGE_ID's eir_server_impl_id (RFC 8881 §18.35.3, nfs_impl_id4):
 *   Ganesha sends none, the proxy adds one. Its name and domain are the
 *   server's strings: shown as printable ASCII, else in hex, as the server
 *   owner and scope beside them; its nii_date is any 64-bit count of
 *   seconds (nfstime4, RFC 7530 §3.3.1): one no `Date` holds is shown as
 *   the seconds sent, never "Invalid time value"; `--json` writes it as
 *   every time, `{ seconds, nseconds }` as sent (cli/json_values.ts rule 3).
 * - READDIR of the pseudo-fs root listing a name with an escape sequence:
 *   quoted in "Under /" as `ls` quotes names on a terminal.
 *
 * And a URL whose path names nothing fails as every command fails on it:
 * one line naming the URL and the status, exit 1, nothing on stdout.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { XdrWriter } from "../../lib/xdr/mod.ts";
import { serverTest, type TestServer } from "../_server.ts";
import { startProxy } from "./_faults.ts";
import { messageLines, nfs4 } from "./_spawn.ts";

/** nfs_impl_id4 (RFC 8881 §18.35.1). */
interface ImplId {
  readonly domain: string;
  readonly name: string;
  readonly seconds: bigint;
  /** nii_date's nseconds (default 0). */
  readonly nseconds?: number;
}

/**
 * The EXCHANGE_ID reply `record` (mark included) with `impl` as its
 * eir_server_impl_id. The COMPOUND holds EXCHANGE_ID alone, and the impl id
 * array is its result's last field: Ganesha's is empty (a zero count).
 */
function withImplId(record: Uint8Array, impl: ImplId): Uint8Array {
  assert.deepEqual([...record.subarray(-4)], [0, 0, 0, 0], "an empty eir_server_impl_id");
  const tail = new XdrWriter()
    .writeUint(1)
    .writeString(impl.domain)
    .writeString(impl.name)
    .writeHyper(impl.seconds)
    .writeUint(impl.nseconds ?? 0)
    .bytes();
  const out = new Uint8Array(record.length - 4 + tail.length);
  out.set(record.subarray(0, record.length - 4));
  out.set(tail, record.length - 4);
  // One last fragment: the high bit and the length.
  new DataView(out.buffer).setUint32(0, (0x80000000 | (out.length - 4)) >>> 0);
  return out;
}

/** `nfs4 info ARGS URL/vfs` through a proxy that gives EXCHANGE_ID's reply `impl`. */
async function infoWithImpl(server: TestServer, impl: ImplId, args: string[] = []) {
  await using f = await startProxy(server);
  const rewrite = f.proxy.onReply({
    op: "EXCHANGE_ID",
    action: "rewrite",
    rewrite: (record) => withImplId(record, impl),
  });
  const r = await nfs4(["info", ...args, f.vfs]);
  if (r.code !== 0) f.dump();
  assert.equal(rewrite.fired, 1);
  return r;
}

/** No C0, DEL or C1 control character. */
function assertNoControls(text: string): void {
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(text, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/, JSON.stringify(text));
}

const hexOf = (text: string) => `0x${Buffer.from(text).toString("hex")}`;

const HOSTILE = { name: "\x1b]0;PWN\x07nfsd", domain: "\x1b[2Jevil.org" };

serverTest(
  "nfs4 info: the implementation's name and domain are printable ASCII, else hex",
  async (server) => {
    const text = await infoWithImpl(server, { ...HOSTILE, seconds: 1704153600n });
    assert.equal(text.code, 0, text.stderr);
    assertNoControls(text.stdout);
    assert.match(
      text.stdout,
      new RegExp(
        `\n {2}implementation {4}${hexOf(HOSTILE.name)} \\(domain ${hexOf(HOSTILE.domain)}, ` +
          "built 2024-01-02\\)\n",
      ),
    );
    // What a server usually sends is shown as it is.
    const plain = { name: "nfs-ganesha", domain: "nfs-ganesha.org", seconds: 1704153600n };
    const usual = await infoWithImpl(server, plain);
    assert.match(
      usual.stdout,
      /\n {2}implementation {4}nfs-ganesha \(domain nfs-ganesha\.org, built 2024-01-02\)\n/,
    );
    // --json: nii_date a time as every time is (cli/json_values.ts rule 3), to the nanosecond.
    const json = JSON.parse(
      (await infoWithImpl(server, { ...plain, nseconds: 250_000_001 }, ["--json"])).stdout,
    );
    assert.deepEqual(json.identity.implementation, {
      name: plain.name,
      domain: plain.domain,
      date: { seconds: 1704153600, nseconds: 250_000_001 },
    });
  },
);

serverTest(
  "nfs4 info: an implementation date no Date holds is shown as its seconds",
  async (server) => {
    const plain = { name: "nfs-ganesha", domain: "nfs-ganesha.org" };
    const text = await infoWithImpl(server, { ...plain, seconds: (1n << 63n) - 1n });
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      /\n {2}implementation {4}nfs-ganesha \(domain nfs-ganesha\.org, built 9223372036854775807 s since 1970\)\n/,
    );
    const json = await infoWithImpl(server, { ...plain, seconds: -(1n << 63n) }, ["--json"]);
    assert.equal(json.code, 0, json.stderr);
    // A number with all its digits (cli/json_values.ts rule 2's way), not a string.
    assert.match(
      json.stdout,
      /"date": \{\n\s*"seconds": -9223372036854775808,\n\s*"nseconds": 0\n\s*\}/,
    );
    const probe = JSON.parse(json.stdout);
    assert.deepEqual(probe.identity.implementation, {
      ...plain,
      date: { seconds: -(2 ** 63), nseconds: 0 },
    });
  },
);

serverTest("nfs4 info: a name listed under / is quoted when it needs it", async (server) => {
  await using f = await startProxy(server);
  // Ganesha's pseudo-fs root lists vfs and mem; the proxy makes `mem` ESC [ m.
  f.proxy.onReply({
    op: "READDIR",
    action: "rewrite",
    times: 100,
    rewrite: (record) => {
      const out = record.slice();
      const at = Buffer.from(out).indexOf("mem");
      if (at >= 0) out.set([0x1b, 0x5b, 0x6d], at);
      return out;
    },
  });
  const r = await nfs4(["info", f.vfs]);
  assert.equal(r.code, 0, r.stderr);
  assertNoControls(r.stdout);
  // Its fsid is READDIR's (mem's): no name is looked up that READDIR placed in another file system.
  assert.match(r.stdout, /\n {2}'\/'\$'\\033''\[m' +fsid [0-9]+:[0-9]+ \(export\)\n/);
  assert.match(r.stdout, /\n {2}\/vfs +fsid [0-9]+:[0-9]+ \(export\)\n/);
});

serverTest("nfs4 info: a path that does not exist is one line and exit 1", async (server) => {
  Deno.writeTextFileSync(`${server.exportDir}/file`, "x");
  const vfs = `${server.url}/vfs`;
  for (const vers of ["4.0", "4.2"]) {
    for (const json of [[], ["--json"]]) {
      const missing = await nfs4(["--vers", vers, "info", ...json, `${vfs}/missing`]);
      assert.equal(missing.code, 1, missing.stderr);
      assert.equal(missing.stdout, "");
      assert.deepEqual(messageLines(missing.stderr), [
        `nfs4: ${vfs}/missing: No such file or directory (NFS4ERR_NOENT)`,
      ]);
    }
    const notDir = await nfs4(["--vers", vers, "info", `${vfs}/file/x`]);
    assert.equal(notDir.code, 1, notDir.stderr);
    assert.deepEqual(messageLines(notDir.stderr), [
      `nfs4: ${vfs}/file/x: Not a directory (NFS4ERR_NOTDIR)`,
    ]);
    // No file is made when the path is not there.
    const probe = await nfs4(["--vers", vers, "info", "--write-probe", `${vfs}/missing/`]);
    assert.equal(probe.code, 1, probe.stderr);
    assert.deepEqual([...Deno.readDirSync(server.exportDir)].map((e) => e.name), ["file"]);
    // The server's root and a path that is there still work.
    for (const url of [`${server.url}/`, `${vfs}/file`]) {
      const r = await nfs4(["--vers", vers, "info", url]);
      assert.equal(r.code, 0, `${url}: ${r.stderr}`);
      assert.deepEqual(messageLines(r.stderr), []);
    }
  }
});
