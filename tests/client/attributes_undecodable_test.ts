/**
 * Nfs4Client.attributes() (`nfs4 stat`, `nfs4 info`) against GETATTR
 * replies that do not decode, through the scripted NFSv4 server over TCP:
 *
 * - knfsd on NFSv4.2 lists mode_umask (RFC 8275) in supported_attrs and
 *   answers a GETATTR of it with its bit set and no value. mode_umask is
 *   CREATE's and OPEN's only (RFC 8275 §3), mode_set_masked write-only (RFC
 *   8881 §5.7): neither is asked for, nor reported as unknown.
 * - Any other attribute whose reply does not decode is asked for alone, as
 *   a refused one is, and is unknown, never fatal; this client does not ask
 *   for it again, and a server whose every reply is malformed costs at most
 *   one request per attribute.
 * - `nfs4 info` (probeServer) reports a reply that did not decode as not
 *   learned, and goes on.
 */

import assert from "node:assert/strict";
import { Attr } from "../../lib/nfs4/attrs.ts";
import { RpcProtocolError } from "../../lib/rpc/errors.ts";
import { probeServer } from "../../lib/client/probe.ts";
import { startScriptedNfsServer } from "../_nfs4_server.ts";
import { ScriptedServer, type ScriptedServerOptions } from "../state/_scripted.ts";
import { withScriptedClient } from "./_scripted_client.ts";
import { runScripted } from "../cli/_scripted_cli.ts";

/** What knfsd supports on NFSv4.2 of what the scripted server has, with mode_umask. */
const KNFSD_42 = {
  supportedAttrs: [
    Attr.SUPPORTED_ATTRS,
    Attr.TYPE,
    Attr.CHANGE,
    Attr.SIZE,
    Attr.LEASE_TIME,
    Attr.FILEID,
    Attr.MAXREAD,
    Attr.MODE,
    Attr.MODE_SET_MASKED,
    Attr.MODE_UMASK,
  ],
  getattrNoValue: [Attr.MODE_UMASK, Attr.MODE_SET_MASKED],
} satisfies ScriptedServerOptions;

/** The attribute ids each GETATTR the server answered asked for, in order. */
function getattrs(server: ScriptedServer): number[][] {
  return server.log.flatMap((entry) =>
    entry.ops.flatMap((op, i) =>
      op === "GETATTR" ? [[...(entry.args[i] as ReadonlySet<number>)].sort((a, b) => a - b)] : []
    )
  );
}

for (const version of ["4.0", "4.1"] as const) {
  Deno.test(`attributes() ${version}: mode_umask and mode_set_masked are never asked for (knfsd 4.2 answers mode_umask with no value)`, async () => {
    await withScriptedClient(KNFSD_42, version, "umask", async (client, server) => {
      const report = await client.attributes("/vfs/file");
      assert.equal(report.info.kind, "file");
      assert.equal(report.values.size, 13n);
      assert.deepEqual(
        report.returned.map((r) => r.name),
        ["supported_attrs", "type", "change", "size", "lease_time", "fileid", "maxread", "mode"],
      );
      assert.ok(report.supported.includes("mode_umask"));
      assert.ok(report.supported.includes("mode_set_masked"));
      assert.deepEqual(report.unknown, []);
      for (const ids of getattrs(server)) {
        assert.ok(!ids.includes(Attr.MODE_UMASK), `GETATTR of ${ids}`);
        assert.ok(!ids.includes(Attr.MODE_SET_MASKED), `GETATTR of ${ids}`);
      }
    });
  });
}

Deno.test("nfs4 stat and nfs4 info against a knfsd-4.2-shaped server: no malformed reply", async () => {
  const server = new ScriptedServer({ now: () => performance.now(), ...KNFSD_42 });
  const [stat, json] = await runScripted(server, [
    ["--vers", "4.1", "stat", "@/vfs/file"],
    ["--vers", "4.1", "stat", "--json", "@/vfs/file"],
  ]);
  assert.equal(stat!.code, 0, stat!.stderr);
  assert.equal(stat!.stderr, "");
  assert.match(stat!.stdout, /^ {2}size {17}13$/m);
  // Listed among supported_attrs, never as an attribute of its own (unknown).
  assert.doesNotMatch(stat!.stdout, /^ {2}mode_(umask|set_masked) /m);
  assert.equal(json!.code, 0, json!.stderr);
  assert.doesNotMatch(json!.stdout, /"mode_(umask|set_masked)":/);

  const nfs = await startScriptedNfsServer(
    new ScriptedServer({ now: () => performance.now(), ...KNFSD_42 }),
  );
  try {
    const probe = await probeServer({
      host: nfs.host,
      port: nfs.port,
      version: "4.1",
      path: "/vfs/file",
      clientId: `umask-info-${crypto.randomUUID()}`,
    });
    assert.ok(probe.fileSystem?.supportedAttrs.includes("mode_umask"));
    assert.deepEqual(probe.notLearned.filter((l) => l.startsWith("attributes")), []);
  } finally {
    await nfs.close();
  }
});

for (const version of ["4.0", "4.1"] as const) {
  Deno.test(`attributes() ${version}: an attribute whose reply does not decode is asked alone, then unknown, and not asked again`, async () => {
    const options = {
      supportedAttrs: [...KNFSD_42.supportedAttrs, Attr.HIDDEN, Attr.XATTR_SUPPORT],
      // hidden (25) lies between values that have one: what follows it is misread.
      getattrNoValue: [Attr.HIDDEN],
    } satisfies ScriptedServerOptions;
    await withScriptedClient(options, version, "novalue", async (client, server) => {
      const report = await client.attributes("/vfs/file");
      assert.equal(report.values.size, 13n);
      assert.equal(report.values.mode, 0o644);
      assert.ok(report.unknown.includes("hidden"), report.unknown.join(" "));
      // The scripted server has no xattr_support value: unknown too.
      assert.deepEqual(report.unknown, ["hidden", "xattr_support"]);
      const before = getattrs(server).length;
      // Asked for again: hidden is left out, one GETATTR does it.
      const again = await client.attributes("/vfs/file");
      assert.deepEqual(again.unknown, ["hidden", "xattr_support"]);
      const later = getattrs(server).slice(before);
      assert.ok(later.every((ids) => !ids.includes(Attr.HIDDEN)), JSON.stringify(later));
      // The walk's (/vfs, /vfs/file), supported_attrs, then the rest at once.
      assert.equal(later.length, 4, JSON.stringify(later));
      const stat = await client.stat("/vfs/file");
      assert.equal(stat.size, 13n);
    });
  });
}

Deno.test("attributes() 4.1: a server whose replies are malformed for many attributes costs one request per attribute at most", async () => {
  const broken = [
    Attr.LINK_SUPPORT,
    Attr.SYMLINK_SUPPORT,
    Attr.NAMED_ATTR,
    Attr.UNIQUE_HANDLES,
    Attr.ARCHIVE,
    Attr.CANSETTIME,
    Attr.CASE_INSENSITIVE,
    Attr.CASE_PRESERVING,
    Attr.CHOWN_RESTRICTED,
    Attr.HIDDEN,
    Attr.HOMOGENEOUS,
    Attr.NO_TRUNC,
  ];
  const options = {
    supportedAttrs: [...KNFSD_42.supportedAttrs, ...broken],
    getattrNoValue: broken,
  } satisfies ScriptedServerOptions;
  await withScriptedClient(options, "4.1", "malformed", async (client, server) => {
    const before = getattrs(server).length;
    const report = await client.attributes("/vfs/file");
    const asked = getattrs(server).length - before;
    const supported = options.supportedAttrs.length;
    // The walk, supported_attrs, all at once, then each alone (mode_umask
    // and mode_set_masked never).
    assert.ok(asked <= supported + 3, `${asked} GETATTRs for ${supported} attributes`);
    assert.equal(report.values.size, 13n);
    assert.deepEqual([...report.unknown].sort(), broken.map(nameOf).sort());
  });
});

Deno.test("attributes() 4.1: replies malformed whatever is asked (an attribute that decoded in the walk does not alone) fail the call after two requests alone", async () => {
  const options = { supportedAttrs: KNFSD_42.supportedAttrs } satisfies ScriptedServerOptions;
  await withScriptedClient(options, "4.1", "garbage", async (client, server) => {
    await client.stat("/vfs/file");
    // From the first PUTFH on (attributes()'s own GETATTRs, after its walk),
    // type comes with no value.
    server.intercept("PUTFH", (_, s) => void (s.getattrNoValue as Set<number>).add(Attr.TYPE));
    const before = getattrs(server).length;
    await assert.rejects(
      client.attributes("/vfs/file"),
      (e) => e instanceof RpcProtocolError && /malformed COMPOUND reply/.test(e.message),
    );
    // The walk's two, supported_attrs, all at once, supported_attrs alone, type alone.
    assert.deepEqual(
      getattrs(server).slice(before).slice(2).map((ids) => ids.length > 2 ? "all" : ids),
      [
        [Attr.SUPPORTED_ATTRS],
        "all",
        [Attr.SUPPORTED_ATTRS],
        [Attr.TYPE],
      ],
    );
  });
});

/** The lower-case RFC name of `id`, as AttributeReport names it. */
function nameOf(id: number): string {
  return Object.entries(Attr).find(([, v]) => v === id)![0].toLowerCase();
}

Deno.test("nfs4 info (probeServer) 4.1: a GETATTR reply that does not decode is not learned, not fatal", async () => {
  // size has no value: every walk's GETATTR is malformed.
  const server = new ScriptedServer({
    now: () => performance.now(),
    supportedAttrs: KNFSD_42.supportedAttrs,
    getattrNoValue: [Attr.SIZE],
  });
  const nfs = await startScriptedNfsServer(server);
  try {
    const probe = await probeServer({
      host: nfs.host,
      port: nfs.port,
      version: "4.1",
      path: "/vfs/file",
      clientId: `malformed-info-${crypto.randomUUID()}`,
    });
    assert.equal(probe.detailsVersion, 1);
    assert.equal(probe.fileSystem, undefined);
    const line = probe.notLearned.find((l) => l.startsWith("attributes of /vfs/file: "));
    assert.match(line ?? probe.notLearned.join("\n"), /malformed COMPOUND reply .*GETATTR/);
  } finally {
    await nfs.close();
  }
});
