/**
 * What Nfs4Client makes of a broken or hostile server's READDIR, GETATTR,
 * LOOKUP and READLINK answers (a scripted server that answers as each test
 * says: _hostile_listing.ts), on NFSv4.0 and 4.1:
 *
 * - a listing that would not end fails with one error naming the directory:
 *   an empty page without EOF, cookies that come round, BAD_COOKIE, NOT_SAME;
 * - a value out of range is unknown or exact, never wrong and never a crash:
 *   a time with nanoseconds past 999,999,999 or beyond any date, a type not
 *   in the enum, sizes past 2^53, mode bits past 07777;
 * - a symlink target that is no path (empty, holding NUL) is an error naming
 *   the link, never the directory holding it;
 * - a LOOKUP that goes on through a regular file is NOTDIR.
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import { PathError } from "../../lib/client/errors.ts";
import type { FileInfo } from "../../lib/client/types.ts";
import type { FileAttributes } from "../../lib/nfs4/attrs.ts";
import { FileType } from "../../lib/nfs4/constants.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { dirEntry, type ReaddirResult } from "../../lib/nfs4/ops/readdir.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { type Answer, type Hostility, withHostileServer } from "./_hostile_listing.ts";

const VERSIONS = ["4.0", "4.1"] as const;
const VERF = new Uint8Array(8);
const FILES = { "/vfs/file": "x", "/vfs/link": "", "/vfs/f/y": "y" };

function page(entries: ReaddirResult["entries"], eof: boolean): Answer<ReaddirResult> {
  return { status: S.NFS4_OK, value: { cookieverf: VERF, entries, eof } };
}

async function withClient(
  version: "4.0" | "4.1",
  hostility: Hostility,
  fn: (client: Nfs4Client) => Promise<void>,
): Promise<void> {
  await withHostileServer(hostility, async ({ host, port }) => {
    const client = await Nfs4Client.connect({
      host,
      port,
      version,
      clientId: `nfs4-hostile-${crypto.randomUUID()}`,
    });
    try {
      await fn(client);
    } finally {
      await client.close();
    }
  }, { files: FILES });
}

async function listing(client: Nfs4Client, path: string): Promise<FileInfo[]> {
  const infos: FileInfo[] = [];
  for await (const info of client.readdir(path)) infos.push(info);
  return infos;
}

/** The error `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof Error, String(e));
    return e;
  }
  assert.fail("expected a failure");
}

// ------------------------------------------------- listings that would not end

for (const version of VERSIONS) {
  Deno.test(`RFC 7530 §16.24 --vers ${version}: READDIR pages without entries or EOF fail the listing at the first`, async () => {
    let calls = 0;
    await withClient(version, {
      readdir: () => {
        calls++;
        return page([], false);
      },
    }, async (client) => {
      const e = await failure(listing(client, "/vfs"));
      assert.match(e.message, /^\/vfs: server returned an empty READDIR page without eof$/);
      assert.equal(calls, 1);
    });
  });

  Deno.test(`RFC 7530 §16.24 --vers ${version}: READDIR cookies that come round again (or restart at 0) are a readdir loop`, async () => {
    for (
      const cookieOf of [
        (call: number) => BigInt(10 + (call % 3)), // round and round
        () => 0n, // the cookie that starts a listing (RFC 7530 §16.24.4)
      ]
    ) {
      let calls = 0;
      await withClient(version, {
        readdir: (_path, _args, call) => {
          calls++;
          return page([dirEntry(cookieOf(call), `n${call}`, { type: FileType.NF4REG })], false);
        },
      }, async (client) => {
        const e = await failure(listing(client, "/vfs"));
        assert.match(
          e.message,
          /^\/vfs: the server's READDIR came round again \(cookie \d+ twice\)/,
        );
        assert.ok(calls <= 4, `${calls} READDIRs`);
      });
    }
  });

  for (
    const [status, name] of [[S.NFS4ERR_BAD_COOKIE, "BAD_COOKIE"], [
      S.NFS4ERR_NOT_SAME,
      "NOT_SAME",
    ]] as const
  ) {
    Deno.test(`RFC 7530 §16.24.4 --vers ${version}: NFS4ERR_${name} half-way fails the listing once, naming the directory`, async () => {
      let calls = 0;
      await withClient(version, {
        readdir: (_path, args) => {
          calls++;
          if (args.cookie === 0n) {
            return page([dirEntry(10n, "a", { type: FileType.NF4REG })], false);
          }
          return { status };
        },
      }, async (client) => {
        const seen: string[] = [];
        const e = await failure((async () => {
          for await (const info of client.readdir("/vfs")) seen.push(info.name);
        })());
        assert.ok(e instanceof NfsError, String(e));
        assert.equal(e.status, status);
        assert.equal(e.path, "/vfs");
        assert.deepEqual(seen, ["a"], "what came before is given");
        assert.equal(calls, 2, "not asked again");
      });
    });
  }

  Deno.test(`RFC 7530 §16.24.4 --vers ${version}: a cookieverf that changes mid-listing is sent back as given`, async () => {
    const verifiers: number[] = [];
    await withClient(version, {
      readdir: (_path, args, call) => {
        verifiers.push(args.cookieverf[0]!);
        return {
          status: S.NFS4_OK,
          value: {
            cookieverf: new Uint8Array(8).fill(call + 1),
            entries: [dirEntry(BigInt(10 + call), `n${call}`, { type: FileType.NF4REG })],
            eof: call === 2,
          },
        };
      },
    }, async (client) => {
      assert.deepEqual((await listing(client, "/vfs")).map((i) => i.name), ["n0", "n1", "n2"]);
      assert.deepEqual(verifiers, [0, 1, 2]);
    });
  });
}

// --------------------------------------------------------- values out of range

const GOOD_TIME = { seconds: 1_700_000_000n, nseconds: 0 };
const BAD_TIMES = [
  ["nanoseconds of 1,000,000,000", { seconds: 1_700_000_000n, nseconds: 1_000_000_000 }],
  ["nanoseconds of 2^32 - 1", { seconds: 1_700_000_000n, nseconds: 0xffff_ffff }],
  ["seconds of 2^62", { seconds: 1n << 62n, nseconds: 0 }],
  ["seconds of -2^63", { seconds: -(1n << 63n), nseconds: 0 }],
] as const;

for (const version of VERSIONS) {
  for (const [what, bad] of BAD_TIMES) {
    Deno.test(`RFC 7530 §3.3.1 --vers ${version}: a time with ${what} is unknown to readdir(), stat() and attributes()`, async () => {
      const attrs: FileAttributes = {
        type: FileType.NF4REG,
        timeAccess: GOOD_TIME,
        timeModify: bad,
        timeMetadata: bad,
      };
      await withClient(version, {
        readdir: () =>
          page(
            [dirEntry(10n, "a", attrs), dirEntry(11n, "b", { ...attrs, timeModify: GOOD_TIME })],
            true,
          ),
        attrs: (path, given) => path === "/vfs/file" ? { ...given, ...attrs } : given,
      }, async (client) => {
        const [a, b] = await listing(client, "/vfs");
        const stat = await client.stat("/vfs/file");
        for (const info of [a!, stat]) {
          assert.equal(info.mtime, undefined, info.name);
          assert.equal(info.mtimeNs, undefined, info.name);
          assert.equal(info.ctime, undefined, info.name);
          assert.equal(info.atime?.getTime(), 1_700_000_000_000, "a good time beside it is kept");
        }
        assert.equal(b!.mtime?.getTime(), 1_700_000_000_000, "the next entry's time is its own");
        const report = await client.attributes("/vfs/file");
        assert.equal(report.values.timeModify, undefined);
        assert.ok(!report.returned.some((r) => r.name === "time_modify"));
        assert.ok(report.unknown.includes("time_modify"));
        assert.equal(report.info.mtime, undefined);
      });
    });
  }

  Deno.test(`RFC 7530 §3.3.1 --vers ${version}: a time before 1970 is kept, nanoseconds added`, async () => {
    const before = { seconds: -5n, nseconds: 500_000_000 };
    await withClient(version, {
      readdir: () =>
        page([dirEntry(10n, "a", { type: FileType.NF4REG, timeModify: before })], true),
    }, async (client) => {
      const [a] = await listing(client, "/vfs");
      assert.equal(a!.mtime?.getTime(), -4500);
      assert.equal(a!.mtimeNs, -4_500_000_000n);
    });
  });

  Deno.test(`RFC 7530 §5.8.1.2, §5.8.2.15 --vers ${version}: a type not in the enum is unknown, sizes past 2^53 exact, mode bits past 07777 dropped`, async () => {
    const odd: FileAttributes = {
      type: 99,
      size: (1n << 60n) + 1n,
      spaceUsed: (1n << 63n) + 3n,
      mode: 0xffff_ffff,
      numlinks: 0,
    };
    await withClient(version, {
      readdir: () =>
        page([dirEntry(10n, "a", odd), dirEntry(11n, "b", { ...odd, type: -1 })], true),
      attrs: (path, given) => path === "/vfs/file" ? { ...given, ...odd } : given,
    }, async (client) => {
      for (const info of [...await listing(client, "/vfs"), await client.stat("/vfs/file")]) {
        assert.equal(info.kind, "unknown", info.name);
        assert.equal(info.size, (1n << 60n) + 1n, info.name);
        assert.equal(info.spaceUsed, (1n << 63n) + 3n, info.name);
        assert.equal(info.mode, 0o7777, info.name);
        assert.equal(info.nlink, 0, info.name);
      }
    });
  });
}

// ---------------------------------------------------------- names and symlinks

const LINK_AS_SYMLINK = (path: string, attrs: FileAttributes): FileAttributes =>
  path === "/vfs/link" ? { ...attrs, type: FileType.NF4LNK } : attrs;

for (const version of VERSIONS) {
  for (
    const [what, target, message] of [
      ["empty", "", /^\/vfs\/link: the server returned an empty symlink target \(I\/O error\)$/],
      [
        "holding a NUL byte",
        "a\0b",
        /^\/vfs\/link: the server returned a symlink target holding a NUL byte \("a\\u0000b"\) \(I\/O error\)$/,
      ],
    ] as const
  ) {
    Deno.test(`RFC 7530 §16.25, RFC 8881 §18.24 --vers ${version}: a READLINK target ${what} is an error naming the link, never followed`, async () => {
      await withClient(version, {
        attrs: LINK_AS_SYMLINK,
        readlink: (path) =>
          path === "/vfs/link" ? { status: S.NFS4_OK, value: target } : { status: S.NFS4ERR_INVAL },
        readdir: () =>
          page([
            dirEntry(10n, "link", { type: FileType.NF4LNK }),
            dirEntry(11n, "file", { type: FileType.NF4REG }),
          ], true),
      }, async (client) => {
        // Followed, an empty target was the directory holding the link.
        for (
          const attempt of [
            () => client.readlink("/vfs/link"),
            () => client.stat("/vfs/link"),
            () => client.stat("/vfs/link", { follow: true }),
            () => client.stat("/vfs/link/"),
            () => listing(client, "/vfs/link"),
            () => client.openRead("/vfs/link"),
          ]
        ) {
          const e = await failure(attempt());
          assert.ok(e instanceof PathError, `${e.name}: ${e.message}`);
          assert.match(e.message, message);
        }
        // A listing still lists the link, its target unread.
        const infos = await listing(client, "/vfs");
        assert.deepEqual(infos.map((i) => [i.name, i.kind, i.linkTarget]), [
          ["link", "symlink", undefined],
          ["file", "file", undefined],
        ]);
      });
    });
  }

  Deno.test(`RFC 7530 §16.13 --vers ${version}: a LOOKUP that goes on through a regular file is NOTDIR`, async () => {
    // The scripted tree holds /vfs/f/y; the server says /vfs/f is a file.
    await withClient(version, {
      attrs: (path, attrs) => path === "/vfs/f" ? { ...attrs, type: FileType.NF4REG } : attrs,
    }, async (client) => {
      for (const path of ["/vfs/f/y", "/vfs/f/"]) {
        const e = await failure(client.stat(path));
        assert.ok(e instanceof NfsError, String(e));
        assert.equal(e.status, S.NFS4ERR_NOTDIR, path);
      }
      const e = await failure(listing(client, "/vfs/f"));
      assert.ok(e instanceof NfsError, String(e));
      assert.equal(e.status, S.NFS4ERR_NOTDIR);
    });
  });
}
