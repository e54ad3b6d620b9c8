/**
 * lib/os/builtins.ts: built-ins loaded at their first use, and the IPv4 check
 * that spares every command `node:net`; and that the single binary's bundle
 * really leaves those built-ins out of its start-up (a static import
 * anywhere would bring one back: the bundler hoists it to the top).
 */

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as net from "node:net";
import * as readline from "node:readline";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { builtin, isIPv4Text } from "../../lib/os/builtins.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const bun = `${root}.tools/bun/node_modules/.bin/bun`;

Deno.test("builtin() gives the same module a static import does", () => {
  assert.equal(builtin("node:net").isIPv6, net.isIPv6);
  assert.equal(builtin("node:readline").createInterface, readline.createInterface);
});

Deno.test("isIPv4Text agrees with node:net's isIPv4 on edge cases", () => {
  const cases = [
    "127.0.0.1",
    "0.0.0.0",
    "255.255.255.255",
    "256.0.0.1",
    "01.2.3.4",
    "1.2.3",
    "1.2.3.4.",
    ".1.2.3.4",
    "1.2.3.4.5",
    "1..2.3",
    "",
    "1.2.3.04",
    "249.250.199.200",
    "1.2.3.4\n",
    "१.२.३.४", // digits of other scripts are not \d here, nor in node
  ];
  for (const text of cases) assert.equal(isIPv4Text(text), net.isIPv4(text), JSON.stringify(text));
});

Deno.test("isIPv4Text agrees with node:net's isIPv4 on random dotted digits", () => {
  const piece = fc.oneof(fc.nat(300).map(String), fc.stringMatching(/^[0-9]{0,4}$/));
  const dotted = fc.array(piece, { minLength: 1, maxLength: 6 }).map((parts) => parts.join("."));
  fc.assert(
    fc.property(fc.oneof(dotted, fc.string()), (text) => isIPv4Text(text) === net.isIPv4(text)),
    { numRuns: 2000 },
  );
});

Deno.test({
  name: "the single binary's bundle imports net, dns, crypto, child_process, readline, util lazily",
  ignore: !existsSync(bun),
  async fn() {
    const work = mkdtempSync(join(tmpdir(), "nfs4-bundle-"));
    try {
      const outfile = join(work, "bundle.js");
      const out = await new Deno.Command(bun, {
        args: ["build", "--format=esm", "--target=bun", "cli/main.ts", "--outfile", outfile],
        cwd: root,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const bundle = readFileSync(outfile, "utf8");
      // Every static import of a built-in, wherever it was written, is a
      // top-level `import ... from "x"` (or "node:x") in the bundle.
      const loaded = new Set(
        [...bundle.matchAll(/^import\b[^;]*?\bfrom\s*"(?:node:)?([a-z_/]+)";?$/gm)].map((m) =>
          m[1]
        ),
      );
      assert.ok(loaded.has("process"), `the pattern finds imports: ${[...loaded]}`);
      for (const lazy of ["net", "dns/promises", "crypto", "child_process", "readline", "util"]) {
        assert.ok(!loaded.has(lazy), `${lazy} is imported at start-up`);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
});
