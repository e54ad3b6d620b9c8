/**
 * Path operations whose handle, from the walk, the server calls stale or
 * expired at the PUTFH of the COMPOUND that uses it (NFS4ERR_STALE: a
 * directory replaced since the walk; NFS4ERR_FHEXPIRED: a volatile handle,
 * RFC 7530 §4.2.3, RFC 8881 §4.2.3): nothing after that PUTFH ran, so the
 * path is walked again once and the operation sent again, as the Linux VFS
 * retries a path call once on ESTALE (LOOKUP_REVAL); a second such answer
 * is the answer, naming the path. What a stale handle meets after an
 * operation was done (4.0's OPEN_CONFIRM, the SETATTR after an OPEN) is
 * never a cause to run it again; a listing is started again only while
 * nothing of it was handed out. Through the scripted NFSv4 server over
 * TCP, on 4.0 and 4.1.
 */

import assert from "node:assert/strict";
import type { Nfs4Client } from "../../lib/client/client.ts";
import { DirectoryHandles } from "../../lib/client/small_file.ts";
import type { FileInfo } from "../../lib/client/types.ts";
import { listDirectory } from "../../lib/client/walk.ts";
import type { FileAttributes } from "../../lib/nfs4/attrs.ts";
import type { CompoundReply, CompoundRequest } from "../../lib/nfs4/compound.ts";
import { FileType } from "../../lib/nfs4/constants.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import type { CreateResult } from "../../lib/nfs4/ops/create.ts";
import { dirEntry, type ReaddirArgs, type ReaddirResult } from "../../lib/nfs4/ops/readdir.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import type { ScriptedServer } from "../state/_scripted.ts";
import { type Answer, HostileServer, type Hostility } from "./_hostile_listing.ts";
import { withScriptedClient } from "./_scripted_client.ts";

const VERSIONS = ["4.0", "4.1"] as const;
const VERF = new Uint8Array(8);

/** `/vfs/link` is a symlink to `file` (the scripted tree has none: its GETATTR is rewritten). */
const LINK: Hostility = {
  attrs: (path: string, attrs: FileAttributes) =>
    path === "/vfs/link" ? { ...attrs, type: FileType.NF4LNK } : attrs,
  readlink: (path: string) =>
    path === "/vfs/link" ? { status: S.NFS4_OK, value: "file" } : { status: S.NFS4ERR_INVAL },
};

function page(entries: ReaddirResult["entries"], eof: boolean): Answer<ReaddirResult> {
  return { status: S.NFS4_OK, value: { cookieverf: VERF, entries, eof } };
}

/** /vfs/d lists `a`, `b` (cookies 1, 2), then `c` (3), in two pages, whatever asks. */
function twoPages(_path: string, args: ReaddirArgs): Answer<ReaddirResult> {
  const file = { type: FileType.NF4REG };
  return args.cookie === 0n
    ? page([dirEntry(1n, "a", file), dirEntry(2n, "b", file)], false)
    : page([dirEntry(3n, "c", file)], true);
}

/**
 * A {@linkcode HostileServer} that also answers CREATE (which the scripted
 * server does not do) NFS4_OK, making nothing: enough for a client that
 * does not look at what it made.
 */
class CreatingServer extends HostileServer {
  /** The names CREATE was answered for. */
  readonly created: string[] = [];

  override handle(request: CompoundRequest, conn: number): CompoundReply {
    const reply = super.handle(request, conn);
    const at = reply.outcomes.findIndex((o) =>
      o.name === "CREATE" && o.status === S.NFS4ERR_NOTSUPP
    );
    if (at < 0) return reply;
    const args = request.ops[at]!.args as { name: string };
    this.created.push(args.name);
    const value: CreateResult = {
      cinfo: { atomic: true, before: 1n, after: 2n },
      attrset: new Set(),
    };
    const outcomes = reply.outcomes.slice();
    outcomes[at] = { ...outcomes[at]!, status: S.NFS4_OK, value };
    return { ...reply, status: S.NFS4_OK, outcomes };
  }
}

function hostile(hostility: Hostility, files?: Record<string, string>): HostileServer {
  return new HostileServer(
    { now: () => performance.now(), ...(files ? { files } : {}) },
    hostility,
  );
}

/** COMPOUNDs the server ran holding `op`. */
function sent(server: ScriptedServer, op: string): number {
  return server.log.filter((entry) => entry.ops.includes(op)).length;
}

function staleNaming(status: number, path: string): (e: unknown) => boolean {
  return (e) => e instanceof NfsError && e.status === status && e.path === path;
}

function walkedAgain(events: readonly string[], detail: string): void {
  assert.ok(events.includes(`path walk again (${detail})`), events.join("\n"));
}

async function list(client: Nfs4Client, path: string): Promise<string[]> {
  const names: string[] = [];
  for await (const info of client.readdir(path)) names.push(info.name);
  return names;
}

for (const version of VERSIONS) {
  Deno.test(`Nfs4Client ${version}: setattrPath() (chmod, chown, touch, truncate) walks the path again once when its PUTFH finds the handle expired or stale`, async () => {
    await withScriptedClient({}, version, "stale-setattr", async (client, server, events) => {
      server.failNext("PUTFH", S.NFS4ERR_FHEXPIRED);
      await client.setattrPath("/vfs/file", { size: 5n });
      walkedAgain(events, "/vfs/file: PUTFH -> NFS4ERR_FHEXPIRED");
      assert.equal(server.file("/vfs/file")!.data.length, 5);
      // Stale after the second walk too: the answer, and the SETATTR never ran.
      server.failNext("PUTFH", S.NFS4ERR_STALE, { times: 2 });
      await assert.rejects(
        client.setattrPath("/vfs/file", { size: 2n }),
        staleNaming(S.NFS4ERR_STALE, "/vfs/file"),
      );
      assert.equal(server.file("/vfs/file")!.data.length, 5);
    });
  });

  Deno.test(`Nfs4Client ${version}: readlink(), stat() and attributes() of a symlink walk the path again once when READLINK's PUTFH finds its handle expired or stale`, async () => {
    await withScriptedClient(
      hostile(LINK, { "/vfs/file": "x", "/vfs/link": "" }),
      version,
      "stale-readlink",
      async (client, server, events) => {
        server.failNext("PUTFH", S.NFS4ERR_FHEXPIRED);
        assert.equal(await client.readlink("/vfs/link"), "file");
        walkedAgain(events, "/vfs/link: PUTFH -> NFS4ERR_FHEXPIRED");

        server.failNext("PUTFH", S.NFS4ERR_STALE);
        const info = await client.stat("/vfs/link");
        assert.equal(info.kind, "symlink");
        assert.equal(info.linkTarget, "file");
        walkedAgain(events, "/vfs/link: PUTFH -> NFS4ERR_STALE");

        // attributes(): GETATTR of supported_attrs, of the rest, then READLINK.
        events.length = 0;
        server.failNext("PUTFH", S.NFS4ERR_FHEXPIRED, { after: 2 });
        const report = await client.attributes("/vfs/link");
        assert.equal(report.info.linkTarget, "file");
        walkedAgain(events, "/vfs/link: PUTFH -> NFS4ERR_FHEXPIRED");

        // Twice: the answer, naming the path.
        server.failNext("PUTFH", S.NFS4ERR_FHEXPIRED, { times: 2 });
        await assert.rejects(
          client.readlink("/vfs/link"),
          staleNaming(S.NFS4ERR_FHEXPIRED, "/vfs/link"),
        );
        assert.equal(server.pendingFaults, 0);

        // Once per call, whichever step: attributes()'s first GETATTR
        // expired, then, after the walk again, its READLINK stale.
        events.length = 0;
        server.failNext("PUTFH", S.NFS4ERR_FHEXPIRED);
        server.failNext("PUTFH", S.NFS4ERR_STALE, { after: 2 });
        await assert.rejects(
          client.attributes("/vfs/link"),
          staleNaming(S.NFS4ERR_STALE, "/vfs/link"),
        );
        assert.equal(server.pendingFaults, 0);
        assert.deepEqual(events.filter((e) => e.startsWith("path walk again")), [
          "path walk again (/vfs/link: PUTFH -> NFS4ERR_FHEXPIRED)",
        ]);
      },
    );
  });

  Deno.test(`Nfs4Client ${version}: attributes() of a symlink replaced before its READLINK (NFS4ERR_STALE) reports the link found again, its attributes and target both`, async () => {
    let target = "file";
    const server = hostile({
      ...LINK,
      readlink: (path) =>
        path === "/vfs/link" ? { status: S.NFS4_OK, value: target } : { status: S.NFS4ERR_INVAL },
    }, { "/vfs/file": "x", "/vfs/link": "" });
    await withScriptedClient(server, version, "stale-attrs-link", async (client, _, events) => {
      const before = server.file("/vfs/link")!;
      // After the two GETATTRs, at READLINK's PUTFH: the link was replaced
      // by another (a new handle and fileid, another target).
      server.intercept("PUTFH", () => {
        server.file("/vfs")!.children.delete("link");
        server.addFile("/vfs/link", "");
        target = "other";
        return S.NFS4ERR_STALE;
      }, { after: 2 });
      const report = await client.attributes("/vfs/link");
      walkedAgain(events, "/vfs/link: PUTFH -> NFS4ERR_STALE");
      const after = server.file("/vfs/link")!;
      assert.notEqual(after.fileid, before.fileid);
      // One object's report, not the gone link's attributes with the new one's target.
      assert.equal(report.info.linkTarget, "other");
      assert.equal(report.values.fileid, after.fileid);
      assert.deepEqual(report.filehandle, after.fh);
    });
  });

  Deno.test(`Nfs4Client ${version}: open() walks the path again once when the OPEN's PUTFH finds the directory's handle expired or stale`, async () => {
    await withScriptedClient({}, version, "stale-open", async (client, server, events) => {
      server.failNext("PUTFH", S.NFS4ERR_FHEXPIRED);
      const file = await client.open("/vfs/file", { access: "read" });
      const { data } = await file.read(0n, 100);
      assert.equal(new TextDecoder().decode(data), "hello, world\n");
      await file.close();
      walkedAgain(events, "/vfs/file: PUTFH -> NFS4ERR_FHEXPIRED");

      // A file made by the OPEN: its directory walked again as well.
      server.failNext("PUTFH", S.NFS4ERR_STALE);
      const made = await client.open("/vfs/new", { access: "write", create: "unchecked" });
      await made.close();
      assert.ok(server.file("/vfs/new"));
      walkedAgain(events, "/vfs/new: PUTFH -> NFS4ERR_STALE");

      server.failNext("PUTFH", S.NFS4ERR_STALE, { times: 2 });
      await assert.rejects(
        client.open("/vfs/other", { access: "read" }),
        staleNaming(S.NFS4ERR_STALE, "/vfs/other"),
      );
      assert.deepEqual(client.describeState().opens, []);
      assert.deepEqual(server.opensOf("/vfs/file"), []);
      assert.deepEqual(server.opensOf("/vfs/new"), []);
    });
  });

  Deno.test(`Nfs4Client ${version}: open() never OPENs again for a stale handle met after the OPEN was done (its truncating SETATTR)`, async () => {
    await withScriptedClient({}, version, "stale-open-after", async (client, server, events) => {
      // The OPEN's PUTFH, on 4.0 OPEN_CONFIRM's (a new open owner), then the
      // SETATTR's: the file's handle expired.
      server.failNext("PUTFH", S.NFS4ERR_FHEXPIRED, { after: version === "4.0" ? 2 : 1 });
      await assert.rejects(
        client.open("/vfs/file", { access: "write", truncate: true }),
        staleNaming(S.NFS4ERR_FHEXPIRED, "/vfs/file"),
      );
      assert.equal(sent(server, "OPEN"), 1);
      assert.ok(!events.some((e) => e.startsWith("path walk again")), events.join("\n"));
      assert.equal(server.file("/vfs/file")!.data.length, 13);
      assert.deepEqual(client.describeState().opens, []);
      assert.deepEqual(server.opensOf("/vfs/file"), []);
    });
  });

  Deno.test(`Nfs4Client ${version}: testLock() (LOCKT) walks the path again once when its PUTFH finds the handle expired`, async () => {
    await withScriptedClient({}, version, "stale-lockt", async (client, server, events) => {
      server.failNext("PUTFH", S.NFS4ERR_FHEXPIRED);
      const range = { type: "write", offset: 0n, length: 10n } as const;
      assert.equal(await client.testLock("/vfs/file", range), undefined);
      walkedAgain(events, "/vfs/file: PUTFH -> NFS4ERR_FHEXPIRED");
    });
  });

  Deno.test(`Nfs4Client ${version}: remove(), rename() and link() walk their paths again once when a PUTFH finds a handle stale or expired`, async () => {
    await withScriptedClient(
      { files: { "/vfs/file": "f", "/vfs/other": "o", "/vfs/d/x": "x" } },
      version,
      "stale-dirops",
      async (client, server, events) => {
        server.failNext("PUTFH", S.NFS4ERR_STALE);
        await client.remove("/vfs/other");
        assert.equal(server.file("/vfs/other"), undefined);
        walkedAgain(events, "/vfs/other: PUTFH -> NFS4ERR_STALE");

        // The target directory's PUTFH (after SAVEFH): the RENAME did not run.
        server.failNext("PUTFH", S.NFS4ERR_FHEXPIRED, { after: 1 });
        await client.rename("/vfs/d/x", "/vfs/moved");
        assert.equal(server.file("/vfs/d/x"), undefined);
        assert.ok(server.file("/vfs/moved"));
        walkedAgain(events, "/vfs/d/x: PUTFH -> NFS4ERR_FHEXPIRED");

        // The file's own handle, SAVEFH'd for the LINK.
        server.failNext("PUTFH", S.NFS4ERR_FHEXPIRED);
        await client.link("/vfs/file", "/vfs/d/hard");
        assert.equal(server.file("/vfs/d/hard"), server.file("/vfs/file"));
        walkedAgain(events, "/vfs/d/hard: PUTFH -> NFS4ERR_FHEXPIRED");

        server.failNext("PUTFH", S.NFS4ERR_STALE, { times: 2 });
        await assert.rejects(
          client.remove("/vfs/moved"),
          staleNaming(S.NFS4ERR_STALE, "/vfs/moved"),
        );
        assert.ok(server.file("/vfs/moved"));
      },
    );
  });

  Deno.test(`Nfs4Client ${version}: mkdir(), symlink() and mknod() walk the directory again once when the CREATE's PUTFH finds its handle stale`, async () => {
    const server = new CreatingServer({ now: () => performance.now() }, {});
    await withScriptedClient(server, version, "stale-create", async (client, _, events) => {
      server.failNext("PUTFH", S.NFS4ERR_STALE);
      await client.mkdir("/vfs/newdir");
      walkedAgain(events, "/vfs/newdir: PUTFH -> NFS4ERR_STALE");
      server.failNext("PUTFH", S.NFS4ERR_FHEXPIRED);
      await client.symlink("/vfs/newlink", "file");
      walkedAgain(events, "/vfs/newlink: PUTFH -> NFS4ERR_FHEXPIRED");
      server.failNext("PUTFH", S.NFS4ERR_STALE);
      await client.mknod("/vfs/fifo", "fifo", 0o644);
      walkedAgain(events, "/vfs/fifo: PUTFH -> NFS4ERR_STALE");
      assert.deepEqual(server.created, ["newdir", "newlink", "fifo"]);
    });
  });

  Deno.test(`Nfs4Client ${version}: readdir() walks the directory again once when its first page's PUTFH finds the handle expired`, async () => {
    const server = hostile({ readdir: twoPages }, { "/vfs/d/a": "" });
    await withScriptedClient(server, version, "stale-readdir", async (client, _, events) => {
      server.failNext("PUTFH", S.NFS4ERR_FHEXPIRED);
      assert.deepEqual(await list(client, "/vfs/d"), ["a", "b", "c"]);
      walkedAgain(events, "/vfs/d: PUTFH -> NFS4ERR_FHEXPIRED");
      server.failNext("PUTFH", S.NFS4ERR_FHEXPIRED, { times: 2 });
      await assert.rejects(list(client, "/vfs/d"), staleNaming(S.NFS4ERR_FHEXPIRED, "/vfs/d"));
    });
  });

  Deno.test(`Nfs4Client ${version}: readdir() starts a listing again after a stale page only while nothing was handed out`, async () => {
    // The first page holds nothing to hand out (`.` and `..` are dropped).
    let dots = true;
    const server = hostile({
      readdir: (path, args) => {
        if (!dots) return twoPages(path, args);
        const dir = { type: FileType.NF4DIR };
        return args.cookie === 0n
          ? page([dirEntry(1n, ".", dir), dirEntry(2n, "..", dir)], false)
          : page([dirEntry(3n, "a", { type: FileType.NF4REG })], true);
      },
    }, { "/vfs/d/a": "" });
    await withScriptedClient(server, version, "stale-readdir-next", async (client, _, events) => {
      server.failNext("PUTFH", S.NFS4ERR_STALE, { after: 1 });
      assert.deepEqual(await list(client, "/vfs/d"), ["a"]);
      walkedAgain(events, "/vfs/d: PUTFH -> NFS4ERR_STALE");

      // `a` and `b` were handed out when the second page's PUTFH fails: the
      // cookies were the old handle's, so the failure is the answer.
      dots = false;
      events.length = 0;
      const seen: string[] = [];
      server.failNext("PUTFH", S.NFS4ERR_STALE, { after: 1 });
      const readdirs = server.readdirs;
      await assert.rejects(async () => {
        for await (const info of client.readdir("/vfs/d")) seen.push(info.name);
      }, staleNaming(S.NFS4ERR_STALE, "/vfs/d"));
      assert.deepEqual(seen, ["a", "b"]);
      assert.equal(server.readdirs - readdirs, 1);
      assert.ok(
        events.includes(
          "listing not started again (/vfs/d: NFS4ERR_STALE after 2 entries were handed out)",
        ),
        events.join("\n"),
      );
    });
  });

  Deno.test(`listDirectory() ${version} (find, du, rm -r) lists a directory again once when its handle goes stale part way`, async () => {
    const server = hostile({ readdir: twoPages }, { "/vfs/d/a": "" });
    await withScriptedClient(server, version, "stale-list", async (client) => {
      server.failNext("PUTFH", S.NFS4ERR_STALE, { after: 1 });
      const names = (infos: FileInfo[]) => infos.map((info) => info.name);
      assert.deepEqual(names(await listDirectory(client, "/vfs/d")), ["a", "b", "c"]);
      assert.equal(server.pendingFaults, 0);
      // Part way again in the listing done again: the answer.
      server.failNext("PUTFH", S.NFS4ERR_STALE, { after: 1, times: 1 });
      server.failNext("PUTFH", S.NFS4ERR_STALE, { after: 1 });
      await assert.rejects(listDirectory(client, "/vfs/d"), staleNaming(S.NFS4ERR_STALE, "/vfs/d"));
    });
  });
}

Deno.test("Nfs4Client 4.0: an expired handle at OPEN_CONFIRM's PUTFH (the OPEN was done) is the answer: no walk again, no second OPEN", async () => {
  await withScriptedClient({}, "4.0", "stale-confirm", async (client, server, events) => {
    // The OPEN's PUTFH goes through; OPEN_CONFIRM's, the new file's, expired.
    server.failNext("PUTFH", S.NFS4ERR_FHEXPIRED, { after: 1 });
    await assert.rejects(
      client.open("/vfs/file", { access: "read" }),
      (e) => e instanceof NfsError && e.status === S.NFS4ERR_FHEXPIRED,
    );
    assert.equal(sent(server, "OPEN"), 1);
    assert.ok(!events.some((e) => e.includes("walk again")), events.join("\n"));
  });
});

Deno.test("Nfs4Client.createExclusiveIn() 4.0: a stale handle at OPEN_CONFIRM's PUTFH (the exclusive OPEN was done) never OPENs again", async () => {
  await withScriptedClient({}, "4.0", "stale-exclusive", async (client, server, events) => {
    const directories = new DirectoryHandles();
    // OPEN_CONFIRM's PUTFH (the file the OPEN made): no second OPEN, whose
    // new verifier would meet the file the first made (NFS4ERR_EXIST).
    server.failNext("PUTFH", S.NFS4ERR_FHEXPIRED, { after: 1 });
    await assert.rejects(
      client.createExclusiveIn("/vfs/made", { mode: 0o600, directories }),
      (e) => e instanceof NfsError && e.status === S.NFS4ERR_FHEXPIRED,
    );
    assert.equal(sent(server, "OPEN"), 1);
    assert.ok(!events.some((e) => e.includes("walk again")), events.join("\n"));

    // The exclusive OPEN's own PUTFH, the directory's: walked again once.
    server.failNext("PUTFH", S.NFS4ERR_STALE);
    const file = await client.createExclusiveIn("/vfs/made2", { mode: 0o600, directories });
    await file.close();
    assert.ok(server.file("/vfs/made2"));
    assert.ok(events.some((e) => e.startsWith("directory walk again (/vfs:")), events.join("\n"));
  });
});

Deno.test("Nfs4Client.createExclusiveIn() 4.0: a stale handle at the SETATTR of the mode after the exclusive OPEN never OPENs again; the file made is removed", async () => {
  await withScriptedClient({}, "4.0", "stale-exclusive-mode", async (client, server, events) => {
    const directories = new DirectoryHandles();
    // The mode's SETATTR after the OPEN and its OPEN_CONFIRM (4.0's
    // EXCLUSIVE4 carries no attributes): the failure is the answer.
    server.failNext("PUTFH", S.NFS4ERR_FHEXPIRED, { after: 2 });
    await assert.rejects(
      client.createExclusiveIn("/vfs/made", { mode: 0o600, directories }),
      staleNaming(S.NFS4ERR_FHEXPIRED, "/vfs/made"),
    );
    assert.equal(sent(server, "OPEN"), 1);
    assert.equal(server.file("/vfs/made"), undefined);
    assert.ok(!events.some((e) => e.includes("walk again")), events.join("\n"));
  });
});
