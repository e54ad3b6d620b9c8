/**
 * lib/os/executable_pages.ts: which mappings may be released, and releasing
 * them in this very process (Deno's own executable, under `deno test -A`).
 * The binary releases its pages 250 ms after start; tests/cli/binary_test.ts
 * runs commands that last longer (renew-watch, simulate-reboot) through it.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  parseSmaps,
  releasableMappings,
  releaseExecutablePages,
  type SmapsMapping,
} from "../../lib/os/executable_pages.ts";
import { executableRss } from "./_executable_rss.ts";

const SAMPLE = `00200000-01a39000 r--p 00000000 fe:00 5311534                            /opt/nfs4
Size:              24804 kB
Rss:                5540 kB
Anonymous:             0 kB
01a40000-0684a000 r-xp 01838000 fe:00 5311534                            /opt/nfs4
Size:              79912 kB
Anonymous:             0 kB
0684a000-0685f000 rw-p 06641000 fe:00 5311534                            /opt/nfs4
Anonymous:            48 kB
0685f000-06867000 r--p 06656000 fe:00 5311534                            /opt/nfs4
Anonymous:            12 kB
06870000-06871000 r--p 06657000 fe:00 5311534                            /opt/nfs4
Rss:                   4 kB
06880000-06881000 r-xp 00000000 fe:00 77                                 /opt/nfs4 two
Anonymous:             0 kB
7f9ff9bc1000-7f9ff9d17000 r-xp 00028000 fe:00 1234                       /usr/lib/x86_64-linux-gnu/libc.so.6
Anonymous:             0 kB
7fff15440000-7fff15461000 rw-p 00000000 00:00 0                          [stack]
Anonymous:           132 kB
VmFlags: rd wr mr mw me gd ac
`;

Deno.test("parseSmaps reads each mapping's range, permissions, path and anonymous size", () => {
  const mappings = parseSmaps(SAMPLE);
  assert.equal(mappings.length, 8);
  assert.deepEqual(mappings[1], {
    start: 0x01a40000n,
    end: 0x0684a000n,
    perms: "r-xp",
    path: "/opt/nfs4",
    anonymousKb: 0,
  });
  assert.equal(mappings[4]!.anonymousKb, undefined, "no Anonymous line: unknown");
  assert.equal(mappings[5]!.path, "/opt/nfs4 two");
  assert.equal(mappings[7]!.path, "[stack]");
  assert.equal(mappings[7]!.anonymousKb, 132);
  assert.deepEqual(parseSmaps(""), []);
});

Deno.test("only the executable's read-only mappings without written pages are releasable", () => {
  const picked = releasableMappings(parseSmaps(SAMPLE), "/opt/nfs4");
  // Not: the writable data, the relocated RELRO (12 kB written), the mapping
  // without a count, another file, libc.
  assert.deepEqual(picked.map((m: SmapsMapping) => m.start), [0x00200000n, 0x01a40000n]);
  assert.deepEqual(releasableMappings(parseSmaps(SAMPLE), "/elsewhere"), []);
});

const root = fileURLToPath(new URL("../../", import.meta.url));
const bun = `${root}.tools/bun/node_modules/.bin/bun`;

Deno.test({
  name: "releaseExecutablePages unmaps this process's executable pages, and it runs on",
  ignore: Deno.build.os !== "linux",
  fn() {
    const before = executableRss();
    const released = releaseExecutablePages();
    const after = executableRss();
    assert.ok(released > 0, "something was released");
    assert.ok(after < before, `resident executable pages ${before} kB -> ${after} kB`);
    // Code that ran before runs again (its pages come back from the page cache).
    assert.deepEqual(parseSmaps(SAMPLE).length, 8);
    assert.equal(JSON.parse(JSON.stringify({ a: [1, 2, 3] })).a[2], 3);
  },
});

Deno.test({
  name: "releaseExecutablePages works in Bun (bun:ffi), the binary's runtime",
  ignore: Deno.build.os !== "linux" || !existsSync(bun),
  async fn() {
    const out = await new Deno.Command(bun, {
      args: ["tests/os/_bun_release_check.ts"],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(
      out.code,
      0,
      `bun exited ${out.code}:\n${stdout}\n${new TextDecoder().decode(out.stderr)}`,
    );
    const seen = JSON.parse(stdout) as {
      before: number;
      released: number;
      after: number;
      mappings: number;
    };
    assert.ok(seen.released > 0, stdout);
    assert.ok(seen.after < seen.before, stdout);
    assert.ok(seen.mappings > 0, stdout);
  },
});
