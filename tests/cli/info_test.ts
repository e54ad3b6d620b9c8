/**
 * `nfs4 info` (alias `probe`) against NFS-Ganesha serving NFSv4.0, 4.1 and
 * 4.2, only 4.1, and only 4.0 (the test server's `minorVersions`): the
 * fields are present and agree with the server's configuration, what a
 * version cannot tell is listed as not learned, and `--write-probe` leaves
 * no file behind.
 */

import assert from "node:assert/strict";
import type { ServerProbe } from "../../lib/client/probe.ts";
import { serverTest } from "../_server.ts";
import { freePort, messageLines, nfs4 } from "./_spawn.ts";

async function info(args: string[]): Promise<{ code: number; probe: ServerProbe; stderr: string }> {
  const result = await nfs4(["info", "--json", ...args]);
  assert.equal(result.code, 0, result.stderr);
  return {
    code: result.code,
    probe: JSON.parse(result.stdout) as ServerProbe,
    stderr: result.stderr,
  };
}

serverTest(
  "nfs4 info: versions 4.0-4.2, identity, session, lease, limits, exports",
  async (server) => {
    const { probe } = await info(["--count", "5", `${server.url}/vfs`]);
    assert.equal(probe.rpcNull.sent, 5);
    assert.equal(probe.rpcNull.answered, 5);
    assert.ok(
      probe.rpcNull.minMs <= probe.rpcNull.avgMs && probe.rpcNull.avgMs <= probe.rpcNull.maxMs,
    );
    assert.deepEqual(probe.minorVersions.map((m) => [m.minorVersion, m.served, m.answer]), [
      [0, true, "NFS4_OK"],
      [1, true, "NFS4ERR_OP_NOT_IN_SESSION"],
      [2, true, "NFS4ERR_OP_NOT_IN_SESSION"],
    ]);
    assert.equal(probe.detailsVersion, 2);
    // Server_Owner and Server_Scope are set per instance by the test server.
    assert.match(probe.identity!.ownerMajorId, /^nfs4-test-/);
    assert.equal(probe.identity!.scope, probe.identity!.ownerMajorId);
    assert.equal(probe.identity!.stateProtection, "none (SP4_NONE)");
    assert.ok(probe.session!.slots >= 1);
    assert.ok(probe.session!.maxRequestSize >= 4096);
    assert.ok(probe.session!.maxResponseSize >= 4096);
    assert.ok(probe.session!.maxOperations >= 2);
    assert.equal(probe.session!.backchannel, true);
    assert.equal(probe.session!.rdma, false);
    assert.equal(probe.leaseSeconds, server.leaseSeconds);
    assert.ok(BigInt(probe.fileSystem!.maxread!) > 0n);
    assert.ok(BigInt(probe.fileSystem!.maxwrite!) > 0n);
    assert.ok(probe.fileSystem!.supportedAttrs.includes("size"));
    assert.ok(probe.fileSystem!.supportedAttrs.includes("time_modify"));
    // EXPORT { SecType = sys; }
    assert.deepEqual(probe.security, ["AUTH_SYS"]);
    const exports = new Map(probe.exports!.map((e) => [e.path, e]));
    assert.ok(exports.get("/vfs")?.separateFs, JSON.stringify(probe.exports));
    assert.ok(exports.get("/mem")?.separateFs, JSON.stringify(probe.exports));
    assert.equal(probe.fileSystem!.fsid, exports.get("/vfs")!.fsid);
    assert.ok(probe.clock!.timeDeltaNs !== undefined);
    assert.equal(probe.clock!.skewMs, undefined);
    assert.deepEqual(probe.notLearned, ["clock skew: needs --write-probe (creates a file)"]);

    // The human form: short sections.
    const text = await nfs4(["probe", `${server.url}/vfs`]);
    assert.equal(text.code, 0, text.stderr);
    for (
      const heading of [
        `Server 127.0.0.1:${server.port}`,
        "Identity (EXCHANGE_ID, NFSv4.2)",
        "Session (CREATE_SESSION)",
        "Path /vfs",
        "Under / (pseudo file system)",
        "Clock",
      ]
    ) {
      assert.ok(text.stdout.split("\n").includes(heading), `${heading} in\n${text.stdout}`);
    }
    assert.match(text.stdout, /^ {2}lease time +5 s$/m);
  },
);

serverTest(
  "nfs4 info --vers 4.1 --write-probe: details from 4.1, the clock, no file left",
  async (server) => {
    const before = [...Deno.readDirSync(server.exportDir)].map((e) => e.name);
    const { probe } = await info(["--vers", "4.1", "--write-probe", `${server.url}/vfs/`]);
    assert.equal(probe.detailsVersion, 1);
    // Same host, same clock: the skew is the server's timestamp granularity and the round trip.
    assert.ok(Math.abs(probe.clock!.skewMs!) < 2000, String(probe.clock!.skewMs));
    assert.deepEqual(probe.notLearned, []);
    assert.deepEqual([...Deno.readDirSync(server.exportDir)].map((e) => e.name), before);
  },
);

serverTest("nfs4 info: a server with NFSv4.1 only", async (server) => {
  const { probe } = await info([`${server.url}/vfs`]);
  assert.deepEqual(probe.minorVersions.map((m) => [m.minorVersion, m.served, m.answer]), [
    [0, false, "NFS4ERR_MINOR_VERS_MISMATCH"],
    [1, true, "NFS4ERR_OP_NOT_IN_SESSION"],
    [2, false, "NFS4ERR_MINOR_VERS_MISMATCH"],
  ]);
  assert.equal(probe.detailsVersion, 1);
  assert.ok(probe.identity);
  assert.ok(probe.session);
  assert.equal(probe.leaseSeconds, server.leaseSeconds);
  assert.deepEqual(probe.security, ["AUTH_SYS"]);
}, { minorVersions: [1] });

serverTest("nfs4 info: a server with NFSv4.0 only says what 4.0 cannot tell", async (server) => {
  const { probe } = await info([`${server.url}/vfs`]);
  assert.deepEqual(probe.minorVersions.map((m) => [m.minorVersion, m.served]), [
    [0, true],
    [1, false],
    [2, false],
  ]);
  assert.equal(probe.detailsVersion, 0);
  assert.equal(probe.identity, undefined);
  assert.equal(probe.session, undefined);
  assert.ok(
    probe.notLearned.includes(
      "server identity and session: NFSv4.0 has no EXCHANGE_ID nor sessions",
    ),
    probe.notLearned.join("\n"),
  );
  assert.equal(probe.leaseSeconds, server.leaseSeconds);
  // SECINFO of "vfs" in the pseudo-fs root.
  assert.deepEqual(probe.security, ["AUTH_SYS"]);
  assert.ok(probe.exports!.some((e) => e.path === "/vfs"));
}, { minorVersions: [0] });

Deno.test("nfs4 info: no server there is one line and exit 1", async () => {
  const port = await freePort();
  const result = await nfs4(["info", `nfs://127.0.0.1:${port}/vfs`]);
  assert.equal(result.code, 1);
  // As every command names a server that is not there (cat_ganesha_test.ts).
  assert.deepEqual(messageLines(result.stderr), [`nfs4: 127.0.0.1:${port}: Connection refused`]);
  assert.equal(result.stdout, "");
});
