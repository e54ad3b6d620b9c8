/**
 * A READ's eof is TRUE only when the READ reached the end of the file (RFC
 * 7530 §16.23.4, RFC 8881 §18.22.4). One before the size known at OPEN is
 * believed only when the file is now that short: another client truncated
 * it, which one GETATTR of the size shows. A server whose GETATTR still
 * gives the larger size, or whose READs past that point bring data, is
 * wrong, and the read fails naming the byte, where it used to end there and
 * hand the data before it on as the whole file. Against NFS-Ganesha behind
 * the fault proxy, which rewrites the READ at 2 MiB of a 5,000,000-byte file
 * to half its data with eof (tests/client/_early_eof.ts), on NFSv4.0 and 4.1.
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import type { OpenFile } from "../../lib/client/api.ts";
import { FaultProxy } from "../_fault_proxy.ts";
import { serverTest, type TestServer } from "../_server.ts";
import { earlyEofAt, offsetWords, sizeSaidToBe } from "./_early_eof.ts";
import { DirectoryHandles, PrefetchedFile } from "../../lib/client/small_file.ts";

const SIZE = 5_000_000;
const MiB = 1024 * 1024;
/** Where the READ whose eof is false starts. */
const AT = 2 * MiB;

function connect(proxy: FaultProxy, version: "4.0" | "4.1"): Promise<Nfs4Client> {
  return Nfs4Client.connect({
    host: proxy.host,
    port: proxy.port,
    version,
    callback: false,
    clientId: `nfs4-early-eof-${crypto.randomUUID()}`,
  });
}

/** Reads `file` through chunks(): the bytes it handed out, and how it ended. */
async function readAll(file: OpenFile): Promise<{ bytes: Uint8Array; failure: unknown }> {
  const parts: Uint8Array[] = [];
  let failure: unknown;
  try {
    for await (const chunk of file.chunks()) parts.push(chunk.slice());
  } catch (e) {
    failure = e;
  }
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return { bytes, failure };
}

function endOfFileAt(end: number, size: number): RegExp {
  return new RegExp(
    `^/vfs/big: the server returned end of file at byte ${end} of ${size} \\(I/O error\\)$`,
  );
}

async function withBigFile(
  server: TestServer,
  version: "4.0" | "4.1",
  fn: (proxy: FaultProxy, client: Nfs4Client, content: Uint8Array) => Promise<void>,
): Promise<void> {
  const content = offsetWords(SIZE);
  await Deno.writeFile(`${server.exportDir}/big`, content);
  await using proxy = await FaultProxy.start({ target: server, log: () => {} });
  const client = await connect(proxy, version);
  try {
    await fn(proxy, client, content);
  } finally {
    await client.close();
  }
}

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `NfsFile.chunks() and read() --vers ${vers}: a READ's eof before the size known at OPEN, ` +
      "with GETATTR still giving that size, fails naming the byte " +
      "(RFC 7530 §16.23.4, RFC 8881 §18.22.4)",
    async (server) => {
      await withBigFile(server, vers, async (proxy, client, content) => {
        const eof = earlyEofAt(proxy, AT);
        const file = await client.openRead("/vfs/big");
        try {
          assert.equal(file.size, BigInt(SIZE));
          const getattrs = proxy.opCount("GETATTR");
          const { bytes, failure } = await readAll(file);
          assert.ok(eof.end !== undefined, "the READ at 2 MiB was rewritten");
          assert.ok(failure instanceof Error, `chunks() failed (got ${bytes.length} bytes)`);
          assert.match(failure.message, endOfFileAt(eof.end, SIZE));
          assert.ok(bytes.length <= AT, "nothing past the READ before it");
          assert.deepEqual(bytes, content.subarray(0, bytes.length), "a prefix");
          assert.equal(proxy.opCount("GETATTR") - getattrs, 1, "one GETATTR of the size");

          // One READ on its own: the same (one rewrite rule armed at a time:
          // the proxy gives a reply to the first that matches).
          eof.handle.cancel();
          const again = earlyEofAt(proxy, AT);
          await assert.rejects(
            file.read(BigInt(AT), 65_536),
            (e) => e instanceof Error && endOfFileAt(again.end!, SIZE).test(e.message),
          );
          again.handle.cancel();
        } finally {
          eof.handle.cancel();
          await file.close();
        }
      });
    },
  );

  serverTest(
    `NfsFile.chunks() --vers ${vers}: a READ's eof before the size known at OPEN fails when a ` +
      "READ in flight past it brought data, even with GETATTR agreeing with the eof " +
      "(RFC 7530 §16.23.4, RFC 8881 §18.22.4)",
    async (server) => {
      await withBigFile(server, vers, async (proxy, client, content) => {
        const file = await client.openRead("/vfs/big");
        const eof = earlyEofAt(proxy, AT);
        const getattr = sizeSaidToBe(proxy, SIZE, () => eof.end);
        try {
          const { bytes, failure } = await readAll(file);
          assert.ok(eof.end !== undefined, "the READ at 2 MiB was rewritten");
          assert.equal(getattr.fired, 1, "GETATTR said the file ends there");
          assert.ok(failure instanceof Error, `chunks() failed (got ${bytes.length} bytes)`);
          assert.match(failure.message, endOfFileAt(eof.end, SIZE));
          assert.ok(bytes.length <= eof.end);
          assert.deepEqual(bytes, content.subarray(0, bytes.length), "a prefix");
        } finally {
          eof.handle.cancel();
          getattr.cancel();
          await file.close();
        }
      });
    },
  );

  serverTest(
    `NfsFile.chunks() --vers ${vers}: a file truncated by another writer after OPEN is read to ` +
      "its new end, the eof believed after one GETATTR of its size; a read that ends at the " +
      "size known at OPEN asks none (RFC 7530 §16.23.4, RFC 8881 §18.22.4)",
    async (server) => {
      await withBigFile(server, vers, async (proxy, client, content) => {
        // A read to the end as the file was opened: no GETATTR added.
        const whole = await client.openRead("/vfs/big");
        try {
          const before = proxy.opCount("GETATTR");
          const { bytes, failure } = await readAll(whole);
          assert.equal(failure, undefined);
          assert.equal(bytes.length, SIZE);
          assert.equal(proxy.opCount("GETATTR"), before, "no GETATTR for an eof at the size");
        } finally {
          await whole.close();
        }

        const file = await client.openRead("/vfs/big");
        try {
          assert.equal(file.size, BigInt(SIZE));
          const cut = 2_500_000;
          await Deno.truncate(`${server.exportDir}/big`, cut);
          const before = proxy.opCount("GETATTR");
          const { bytes, failure } = await readAll(file);
          assert.equal(failure, undefined, `the truncated file read without error: ${failure}`);
          assert.equal(bytes.length, cut, "read to its new end");
          assert.deepEqual(bytes, content.subarray(0, cut));
          assert.equal(proxy.opCount("GETATTR") - before, 1, "one GETATTR of the size");
        } finally {
          await file.close();
        }
      });
    },
  );
}

// NFSv4.0: there the read-ahead's OPEN joins the open held (the same open
// owner's state), and its READ goes alone; on 4.1 it is read with its own
// OPEN and CLOSE in one COMPOUND, held to the GETATTR's size already.
for (const vers of ["4.0"] as const) {
  serverTest(
    `Nfs4Client.openReadAhead() --vers ${vers}: a small file already open here, its READ going ` +
      "alone with eof before the size GETATTR gave, is not taken as the whole file: the rest is read " +
      "(RFC 7530 §16.23.4, RFC 8881 §18.22.4)",
    async (server) => {
      const size = 30_000;
      await Deno.writeFile(`${server.exportDir}/small`, offsetWords(size));
      await using proxy = await FaultProxy.start({ target: server, log: () => {} });
      const client = await connect(proxy, vers);
      try {
        // Held open: the read-ahead's OPEN joins this open, and its READ goes
        // alone (small_file.ts readAfterOpen), not with a CLOSE.
        const held = await client.openRead("/vfs/small");
        const lie = earlyEofAt(proxy, 0);
        const file = await client.openReadAhead("/vfs/small", {
          count: 65536,
          directories: new DirectoryHandles(),
        });
        assert.equal(lie.end, 15_000, "the READ was rewritten");
        // Not taken as the whole file (its size the 15,000 bytes read): the
        // rest is read through the open, which finds the file goes on.
        assert.ok(file instanceof PrefetchedFile);
        assert.equal(file.complete, false);
        assert.equal(file.size, BigInt(size));
        const { bytes, failure } = await readAll(file);
        assert.equal(failure, undefined);
        assert.deepEqual(bytes, offsetWords(size));
        await file.close();
        await held.close();
      } finally {
        await client.close();
      }
    },
  );
}
