/**
 * exactArgv(): arguments that are not UTF-8 recovered from /proc/self/cmdline.
 */

import assert from "node:assert/strict";
import { exactArgv } from "../../cli/argv.ts";

const enc = (parts: (number[] | string)[]): Uint8Array => {
  const out: number[] = [];
  for (const part of parts) {
    if (typeof part === "string") out.push(...new TextEncoder().encode(part));
    else out.push(...part);
    out.push(0);
  }
  return new Uint8Array(out);
};

Deno.test("exactArgv() gives back bytes that are not UTF-8 as escapes", () => {
  const cmdline = enc(["deno", "run", "-A", "cli/main.ts", "cp", [
    0x6c,
    0x61,
    0x74,
    0xe9,
    0x69,
    0x6e,
    0x31,
  ], "dst"]);
  assert.deepEqual(exactArgv(["cp", "lat\ufffdin1", "dst"], cmdline), [
    "cp",
    "lat\udce9in1",
    "dst",
  ]);
});

Deno.test("exactArgv() keeps an argument whose bytes decode to something else", () => {
  // The runtime's string and the cmdline entry disagree: the runtime's stays.
  const cmdline = enc(["nfs4", [0x61, 0xff], "x"]);
  assert.deepEqual(exactArgv(["b\ufffd", "x"], cmdline), ["b\ufffd", "x"]);
});

Deno.test("exactArgv() keeps a real U+FFFD typed as UTF-8", () => {
  const cmdline = enc(["nfs4", "a\ufffd"]);
  assert.deepEqual(exactArgv(["a\ufffd"], cmdline), ["a\ufffd"]);
});

Deno.test("exactArgv() leaves plain arguments alone without reading /proc", () => {
  assert.deepEqual(exactArgv(["ls", "-l"], new Uint8Array()), ["ls", "-l"]);
});

Deno.test("exactArgv() keeps the arguments when cmdline has fewer entries", () => {
  assert.deepEqual(exactArgv(["a\ufffd", "b"], enc(["x"])), ["a\ufffd", "b"]);
});

Deno.test("exactArgv() takes empty arguments into account", () => {
  const cmdline = enc(["nfs4", "", [0xfe]]);
  assert.deepEqual(exactArgv(["", "\ufffd"], cmdline), ["", "\udcfe"]);
});

Deno.test("exactArgv() reads this process's /proc/self/cmdline", async () => {
  // A child whose argument holds \xe9: the script prints what exactArgv() recovers.
  const script = `import { exactArgv } from "${new URL("../../cli/argv.ts", import.meta.url).href}";
import process from "node:process";
const [arg] = exactArgv(process.argv.slice(2));
console.log(JSON.stringify([...arg!].map((c) => c.charCodeAt(0))));`;
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/print.ts`, script);
    // Deno.Command takes strings; a shell puts the byte there.
    const out = await new Deno.Command("sh", {
      args: [
        "-c",
        `exec "$0" run -A "$1" "$(printf 'l\\351')"`,
        Deno.execPath(),
        `${dir}/print.ts`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), [0x6c, 0xdce9]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
