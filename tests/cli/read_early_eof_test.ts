/**
 * A server whose READ sets eof before the end of the file, which RFC 7530
 * §16.23.4 and RFC 8881 §18.22.4 allow only when the READ reached the end:
 * NFS-Ganesha behind the fault proxy, the READ at 2 MiB of a 5,000,000-byte
 * file rewritten to half its data with eof (tests/client/_early_eof.ts), on
 * NFSv4.0 and 4.1. The file's size, asked again with GETATTR, is still
 * 5,000,000 (and the READs at 3 and 4 MiB brought data), so `cat`, `cp` to
 * a local file and to the server, and `head -c` end with exit 1 and one
 * line naming the URL and the byte: `cat` printed only a prefix, a copy
 * left no file and no temporary. Before, each wrote 2,621,440 bytes and
 * exited 0. The same for `cat` of a 30,000-byte file whose first READ
 * brings 15,000 bytes and eof.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { serverTest, type TestServer } from "../_server.ts";
import { earlyEofAt, offsetWords } from "../client/_early_eof.ts";
import { tempDir, temporaries } from "./_cp.ts";
import { type ProxyFixture, runNfs4, startProxy, VERSIONS } from "./_faults.ts";
import { messageLines } from "./_spawn.ts";

const SIZE = 5_000_000;
const AT = 2 * 1024 * 1024;

/** stderr is one line: `nfs4: URL: the server returned end of file at byte END of SIZE (I/O error)`. */
function assertEndOfFileLine(stderr: string, url: string, end: number, size: number): void {
  const lines = messageLines(stderr).filter((line) => !line.startsWith("fault-proxy "));
  assert.equal(lines.length, 1, `one message line, got:\n${stderr}`);
  const line = lines[0]!;
  assert.ok(line.startsWith("nfs4: "), line);
  assert.ok(line.includes(url), `names ${url}: ${line}`);
  assert.ok(
    line.endsWith(`the server returned end of file at byte ${end} of ${size} (I/O error)`),
    line,
  );
}

/** `fn` with `/vfs/NAME` holding `size` bytes of offset words, behind a proxy that lies at `start`. */
async function withEarlyEof(
  server: TestServer,
  name: string,
  size: number,
  start: number,
  fn: (f: ProxyFixture, content: Uint8Array, end: () => number) => Promise<void>,
): Promise<void> {
  const content = offsetWords(size);
  await Deno.writeFile(`${server.exportDir}/${name}`, content);
  await using f = await startProxy(server);
  const eof = earlyEofAt(f.proxy, start);
  try {
    await fn(f, content, () => {
      assert.ok(eof.end !== undefined, "the READ was rewritten");
      return eof.end;
    });
  } catch (e) {
    f.dump();
    throw e;
  }
}

for (const vers of VERSIONS) {
  serverTest(
    `nfs4 --vers ${vers} cat fails on a READ's eof before the size known at OPEN, ` +
      "the file still larger (RFC 7530 §16.23.4, RFC 8881 §18.22.4)",
    async (server) => {
      await withEarlyEof(server, "big", SIZE, AT, async (f, content, end) => {
        const url = `${f.vfs}/big`;
        const r = await runNfs4(["--vers", vers, "--timeout", "10", "cat", url], {
          expect: content,
        });
        assert.equal(r.code, 1, r.stderr);
        assertEndOfFileLine(r.stderr, url, end(), SIZE);
        assert.ok(r.size <= AT, `nothing past the READ before it (${r.size} bytes)`);
        assert.equal(r.firstMismatch, undefined, "a prefix of the file");
      });
    },
  );

  serverTest(
    `nfs4 --vers ${vers} cat of a 30,000-byte file whose first READ brings half of it with eof ` +
      "fails (RFC 7530 §16.23.4, RFC 8881 §18.22.4)",
    async (server) => {
      await withEarlyEof(server, "small", 30_000, 0, async (f, content, end) => {
        const url = `${f.vfs}/small`;
        const r = await runNfs4(["--vers", vers, "--timeout", "10", "cat", url], {
          expect: content,
        });
        assert.equal(r.code, 1, r.stderr);
        assertEndOfFileLine(r.stderr, url, end(), 30_000);
        assert.equal(end(), 15_000);
        assert.equal(r.size, 0, "nothing printed");
      });
    },
  );

  serverTest(
    `nfs4 --vers ${vers} cp to a local file fails on a READ's eof before the size known at ` +
      "OPEN, and leaves no file (RFC 7530 §16.23.4, RFC 8881 §18.22.4)",
    async (server) => {
      await withEarlyEof(server, "big", SIZE, AT, async (f, _content, end) => {
        const dir = await tempDir("nfs4-early-eof-");
        try {
          const url = `${f.vfs}/big`;
          const r = await runNfs4(["--vers", vers, "--timeout", "10", "cp", url, `${dir}/big`]);
          assert.equal(r.code, 1, r.stderr);
          assertEndOfFileLine(r.stderr, url, end(), SIZE);
          await assert.rejects(fs.stat(`${dir}/big`), "no file at the destination");
          assert.deepEqual(await temporaries(dir), [], "no temporary left");
        } finally {
          await fs.rm(dir, { recursive: true, force: true });
        }
      });
    },
  );

  serverTest(
    `nfs4 --vers ${vers} cp from the server to the server fails on a READ's eof before the ` +
      "size known at OPEN, and leaves no file (RFC 7530 §16.23.4, RFC 8881 §18.22.4)",
    async (server) => {
      await withEarlyEof(server, "big", SIZE, AT, async (f, _content, end) => {
        const url = `${f.vfs}/big`;
        const r = await runNfs4([
          "--vers",
          vers,
          "--timeout",
          "10",
          "cp",
          url,
          `${f.vfs}/copy`,
        ]);
        assert.equal(r.code, 1, r.stderr);
        assertEndOfFileLine(r.stderr, url, end(), SIZE);
        await assert.rejects(fs.stat(`${server.exportDir}/copy`), "no file at the destination");
        assert.deepEqual(await temporaries(server.exportDir), [], "no temporary left");
      });
    },
  );

  serverTest(
    `nfs4 --vers ${vers} head -c fails on a READ's eof before the size known at OPEN ` +
      "(RFC 7530 §16.23.4, RFC 8881 §18.22.4)",
    async (server) => {
      await withEarlyEof(server, "big", SIZE, AT, async (f, content, end) => {
        const url = `${f.vfs}/big`;
        const r = await runNfs4(["--vers", vers, "--timeout", "10", "head", "-c", "4M", url], {
          expect: content,
        });
        assert.equal(r.code, 1, r.stderr);
        assertEndOfFileLine(r.stderr, url, end(), SIZE);
        assert.equal(r.firstMismatch, undefined, "a prefix of the file");
        assert.ok(r.size < 4 * 1024 * 1024, "not all that was asked");
      });
    },
  );
}
