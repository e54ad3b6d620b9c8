/**
 * How a copy creates its temporaries on servers unlike Ganesha, against the
 * scripted server over TCP (lib/client/copy/file.ts, nfs_side.ts,
 * preserve.ts; lib/state/files.ts, small_create.ts):
 *
 * - a file system without `mode` in its supported_attrs (an ACL-only
 *   volume, RFC 7530 §5.8.1.1): no mode goes in any create or SETATTR
 *   (each would be refused NFS4ERR_ATTRNOTSUPP and fail the file, where
 *   coreutils `cp` onto a mount of it succeeds), said once as a warning;
 * - a persistent session (CREATE_SESSION4_FLAG_PERSIST): the temporaries are
 *   made GUARDED4 (RFC 8881 §18.16.3, "Required methods for exclusive
 *   create"), as the Linux client makes them;
 * - EXCLUSIVE4_1 refused NFS4ERR_NOTSUPP (RFC 8881 §18.16.4): GUARDED4.
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import { copy, type CopyOptions, parseLocation } from "../../lib/client/copy/mod.ts";
import { Attr } from "../../lib/nfs4/attrs.ts";
import { CreateMode } from "../../lib/nfs4/constants.ts";
import type { OpenArgs } from "../../lib/nfs4/ops/open.ts";
import type { SetattrArgs } from "../../lib/nfs4/ops/setattr.ts";
import { ScriptedServer, type ScriptedServerOptions } from "../state/_scripted.ts";
import { startScriptedNfsServer } from "../_nfs4_server.ts";
import { FaultProxy } from "../_fault_proxy.ts";

type Version = "4.0" | "4.1";

/** Every attribute but the mode (and those standing for it). */
const NO_MODE = (Object.values(Attr) as number[]).filter((id) =>
  id !== Attr.MODE && id !== Attr.MODE_SET_MASKED && id !== Attr.MODE_UMASK
);

const SMALL = "a small file\n";
/** Larger than a file made in one COMPOUND (64 KiB): OPEN, WRITEs, SETATTR, CLOSE. */
const LARGE = "x".repeat(200_000);

interface Outcome {
  readonly server: ScriptedServer;
  readonly errors: string[];
  readonly warnings: string[];
  readonly url: string;
}

/**
 * `cp` of local files named by `files` into nfs://…/vfs/d/ of a scripted
 * server with `options` (and /vfs/d/old), through the copy engine.
 */
async function copyTo(
  version: Version,
  options: ScriptedServerOptions,
  files: Record<string, string>,
  extra: Partial<CopyOptions> = {},
  faults?: (proxy: FaultProxy, server: ScriptedServer) => void,
): Promise<Outcome> {
  const server = new ScriptedServer({
    now: () => performance.now(),
    files: { "/vfs/d/old": "old contents\n" },
    ...options,
  });
  const nfs = await startScriptedNfsServer(server);
  const proxy = faults
    ? await FaultProxy.start({ target: { host: nfs.host, port: nfs.port } })
    : undefined;
  if (proxy) faults?.(proxy, server);
  const dir = await Deno.makeTempDir({ prefix: "nfs4-create-attrs-" });
  const errors: string[] = [];
  const warnings: string[] = [];
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    const client = await Nfs4Client.connect({
      host: proxy?.host ?? nfs.host,
      port: proxy?.port ?? nfs.port,
      version,
      clientId: `create-attrs-${crypto.randomUUID()}`,
    });
    try {
      await copy(
        Object.keys(files).map((name) => parseLocation(`${dir}/${name}`)),
        parseLocation(`${proxy?.url ?? nfs.url}/vfs/d/`),
        {
          connect: () => Promise.resolve(client),
          onError: (e) => errors.push(e instanceof Error ? e.message : String(e)),
          onWarning: (message) => warnings.push(message),
          ...extra,
        },
      );
    } finally {
      await client.close();
    }
    assert.deepEqual(nfs.errors, [], "the scripted server itself failed");
    return { server, errors, warnings, url: proxy?.url ?? nfs.url };
  } finally {
    await Deno.remove(dir, { recursive: true });
    await proxy?.close();
    await nfs.close();
  }
}

const MODES: Record<number, string> = {
  [CreateMode.UNCHECKED4]: "UNCHECKED4",
  [CreateMode.GUARDED4]: "GUARDED4",
  [CreateMode.EXCLUSIVE4]: "EXCLUSIVE4",
  [CreateMode.EXCLUSIVE4_1]: "EXCLUSIVE4_1",
};

/** Each create the server ran: `GUARDED4 {mode} OK` (its createattrs' names, its status). */
function creates(server: ScriptedServer): string[] {
  const out: string[] = [];
  for (const e of server.log) {
    e.ops.forEach((name, at) => {
      const how = name === "OPEN" ? (e.args[at] as OpenArgs).create : undefined;
      if (!how || at >= e.statuses.length) return;
      const attrs = "attrs" in how ? Object.keys(how.attrs).join(",") : "-";
      out.push(`${MODES[how.mode]} {${attrs}} ${e.statuses[at] === 0 ? "OK" : e.statuses[at]}`);
    });
  }
  return out;
}

/** Every SETATTR the server ran (or refused) that carried a mode. */
function modeSetattrs(server: ScriptedServer): SetattrArgs[] {
  const out: SetattrArgs[] = [];
  for (const e of server.log) {
    e.ops.forEach((name, at) => {
      const args = e.args[at] as SetattrArgs;
      if (name === "SETATTR" && at < e.statuses.length && args.attrs.mode !== undefined) {
        out.push(args);
      }
    });
  }
  return out;
}

const text = (server: ScriptedServer, path: string) =>
  new TextDecoder().decode(server.file(path)?.data);

for (const version of ["4.0", "4.1"] as const) {
  Deno.test(`cp ${version} onto a file system without mode in its supported_attrs (an ACL-only volume): the files are copied with no mode sent, said once (RFC 7530 §5.8.1.1)`, async () => {
    const got = await copyTo(version, { supportedAttrs: NO_MODE }, { small: SMALL, large: LARGE });
    assert.deepEqual(got.errors, []);
    assert.equal(text(got.server, "/vfs/d/small"), SMALL);
    assert.equal(text(got.server, "/vfs/d/large"), LARGE);
    assert.deepEqual(got.warnings, [
      `${got.url}/vfs/d: modes not set: the server does not support the mode attribute ` +
      "(not in its supported_attrs)",
    ]);
    assert.ok(creates(got.server).every((c) => !c.includes("mode")), creates(got.server).join());
    assert.deepEqual(modeSetattrs(got.server), []);
  });

  Deno.test(`cp -p ${version} over an existing file in place, onto a file system without mode: no SETATTR of a mode, one warning`, async () => {
    const got = await copyTo(
      version,
      { supportedAttrs: NO_MODE },
      { old: SMALL },
      { preserve: true, inplace: true },
    );
    assert.deepEqual(got.errors, []);
    assert.equal(text(got.server, "/vfs/d/old"), SMALL);
    assert.equal(got.warnings.length, 1, got.warnings.join(" | "));
    assert.deepEqual(modeSetattrs(got.server), []);
  });
}

Deno.test("cp 4.1 onto a file system that supports the mode: the mode is still set, and one that is not set fails the file (SETATTR attrsset)", async () => {
  const got = await copyTo("4.1", { setattrIgnores: [Attr.MODE] }, { large: LARGE });
  assert.equal(got.errors.length, 1, got.errors.join(" | "));
  assert.match(got.errors[0]!, /the server did not set mode \(SETATTR attrsset\)/);
  assert.deepEqual(got.warnings, []);
});

Deno.test("cp 4.1 onto a server with a persistent session (CREATE_SESSION4_FLAG_PERSIST): its temporaries are made GUARDED4 with their mode, small and large (RFC 8881 §18.16.3)", async () => {
  const got = await copyTo("4.1", { persistentSession: true }, { small: SMALL, large: LARGE });
  assert.deepEqual(got.errors, []);
  assert.equal(text(got.server, "/vfs/d/small"), SMALL);
  assert.equal(text(got.server, "/vfs/d/large"), LARGE);
  assert.deepEqual(creates(got.server), ["GUARDED4 {mode} OK", "GUARDED4 {mode} OK"]);
});

Deno.test("cp 4.1 onto a server that answers EXCLUSIVE4_1 with NFS4ERR_NOTSUPP (RFC 8881 §18.16.4): the copy goes on with GUARDED4, each file copied", async () => {
  const got = await copyTo(
    "4.1",
    { exclusive41Unsupported: true },
    { small: SMALL, large: LARGE, other: SMALL },
  );
  assert.deepEqual(got.errors, []);
  assert.equal(text(got.server, "/vfs/d/large"), LARGE);
  assert.equal(text(got.server, "/vfs/d/other"), SMALL);
  const made = creates(got.server);
  assert.equal(made.filter((c) => c.startsWith("EXCLUSIVE4_1")).length, 1, made.join(" | "));
  assert.equal(made.filter((c) => c === "GUARDED4 {mode} OK").length, 3, made.join(" | "));
});

Deno.test("cp 4.1 onto a server whose suppattr_exclcreat lacks the mode: the copy asks it first, so EXCLUSIVE4_1 carries no mode and nothing is refused (RFC 8881 §18.16.3)", async () => {
  const got = await copyTo("4.1", { exclusiveCreateAttrs: [Attr.SIZE] }, {
    small: SMALL,
    large: LARGE,
  });
  assert.deepEqual(got.errors, []);
  assert.deepEqual(creates(got.server), ["EXCLUSIVE4_1 {} OK", "EXCLUSIVE4_1 {} OK"]);
  assert.equal(text(got.server, "/vfs/d/large"), LARGE);
});

/** The names in /vfs/d that are a temporary of the copy's (`.NAME.nfs4-XXXXXX`). */
const temporaries = (server: ScriptedServer) =>
  [...server.file("/vfs/d")!.children.keys()].filter((n) => n.startsWith("."));

Deno.test("cp 4.1 over an existing file on a persistent session: the temporary's GUARDED4 OPEN loses its reply with its connection, then its session: sent again, NFS4ERR_EXIST answers the resend; the file fails saying so, and that first run's temporary is removed (RFC 8881 §2.10.6.1.3)", async () => {
  const got = await copyTo(
    "4.1",
    { persistentSession: true },
    { old: SMALL },
    {},
    (proxy, server) => {
      // The first OPEN checks the destination can be written (no create).
      const lost = proxy.dropReplyAndCut("OPEN", { nth: 2 });
      void lost.firstFired.then(() => server.reboot({ grace: false }));
    },
  );
  assert.equal(got.errors.length, 1, got.errors.join(" | "));
  assert.match(
    got.errors[0]!,
    /the first OPEN got no answer, and sent again it found its temporary made already/,
  );
  assert.deepEqual(temporaries(got.server), []);
  assert.equal(text(got.server, "/vfs/d/old"), "old contents\n", "the destination as it was");
  assert.deepEqual(
    creates(got.server).filter((c) => c.startsWith("GUARDED4")),
    ["GUARDED4 {mode} OK", `GUARDED4 {mode} ${17}`],
  );
});
