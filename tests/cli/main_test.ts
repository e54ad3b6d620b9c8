/**
 * `nfs4` as a black box: spawn `deno run -A cli/main.ts`, assert stdout,
 * stderr and the exit code. The tests that need a server run against
 * NFS-Ganesha (tests/_server.ts) and are ignored where it cannot run.
 */

import assert from "node:assert/strict";
import { serverTest } from "../_server.ts";
import { freePort, nfs4, ROOT } from "./_spawn.ts";

Deno.test("nfs4 --help exits 0 and lists the commands", async () => {
  const r = await nfs4(["--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Usage: nfs4 /);
  assert.match(r.stdout, /^ {2}ls /m);
  assert.match(r.stdout, /^ {2}cat /m);
  assert.equal(r.stderr, "");
});

Deno.test("nfs4 --version exits 0", async () => {
  const r = await nfs4(["--version"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^nfs4 \d+\.\d+\.\d+ \(/);
});

Deno.test("nfs4 ls --help shows examples", async () => {
  const r = await nfs4(["ls", "--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Examples:\n {2}\$ nfs4 ls nfs:\/\//);
  assert.match(r.stdout, /Global Options:/);
});

Deno.test("nfs4 with an unknown option exits 2 with one nfs4: line", async () => {
  const r = await nfs4(["ls", "--no-such-option", "nfs://127.0.0.1/"]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, "nfs4: unknown option '--no-such-option'\n");
  assert.equal(r.stdout, "");
});

Deno.test("nfs4 with a bad URL exits 2 naming the URL", async () => {
  const cases: [string, string][] = [
    ["ftp://x", "nfs4: ftp://x: not an nfs:// URL (expected nfs://HOST[:PORT]/PATH)\n"],
    ["nfs://", "nfs4: nfs://: missing host\n"],
    ["nfs://h:99999/", "nfs4: nfs://h:99999/: port out of range\n"],
  ];
  for (const [url, message] of cases) {
    const r = await nfs4(["ls", url]);
    assert.equal(r.code, 2, url);
    assert.equal(r.stderr, message);
    assert.equal(r.stdout, "");
  }
});

Deno.test({
  name: "nfs4 ls exits 1 naming host:port when the connection is refused",
  async fn() {
    const port = await freePort();
    const r = await nfs4(["ls", `nfs://127.0.0.1:${port}/vfs`]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `nfs4: 127.0.0.1:${port}: Connection refused\n`);
    assert.equal(r.stdout, "");
  },
});

function randomBytes(length: number): Uint8Array {
  const data = new Uint8Array(length);
  for (let at = 0; at < length; at += 65536) {
    crypto.getRandomValues(data.subarray(at, Math.min(length, at + 65536)));
  }
  return data;
}

serverTest("nfs4 cat copies files byte for byte and reports failures", async (server) => {
  const data = randomBytes(3 * 1024 * 1024 + 17);
  await Deno.writeFile(`${server.exportDir}/big.bin`, data);
  await Deno.writeTextFile(`${server.exportDir}/small.txt`, "small\n");
  await Deno.mkdir(`${server.exportDir}/dir`);
  const url = `${server.url}/vfs`;

  const big = await nfs4(["cat", `${url}/big.bin`]);
  assert.equal(big.code, 0, big.stderr);
  assert.equal(big.stderr, "");
  assert.deepEqual(big.bytes, data);

  const mixed = await nfs4(["cat", `${url}/dir`, `${url}/small.txt`, `${url}/missing`]);
  assert.equal(mixed.code, 1);
  assert.equal(mixed.stdout, "small\n");
  assert.equal(
    mixed.stderr,
    `nfs4: ${url}/dir: Is a directory (NFS4ERR_ISDIR)\n` +
      `nfs4: ${url}/missing: No such file or directory (NFS4ERR_NOENT)\n`,
  );
});

serverTest("nfs4 cat exits 0 quietly when stdout is closed early", async (server) => {
  await Deno.writeFile(`${server.exportDir}/big.bin`, randomBytes(8 * 1024 * 1024));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli/main.ts", "cat", `${server.url}/vfs/big.bin`],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  const first = await reader.read();
  assert.ok(first.value && first.value.length > 0);
  await reader.cancel(); // like `head -c1` exiting
  const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
  assert.equal(stderr, "");
  assert.equal(status.code, 0);
});

serverTest(
  "nfs4 ls -l prints what coreutils ls -ln prints for the same directory",
  async (server) => {
    const dir = `${server.exportDir}/tree`;
    await Deno.mkdir(`${dir}/sub`, { recursive: true });
    await Deno.writeTextFile(`${dir}/a.txt`, "a");
    await Deno.writeFile(`${dir}/big`, new Uint8Array(100_000));
    await Deno.writeTextFile(`${dir}/sp ace`, "");
    await Deno.symlink("a.txt", `${dir}/link`);
    await Deno.chmod(`${dir}/a.txt`, 0o4755);
    await Deno.utime(
      `${dir}/big`,
      new Date("2001-02-03T04:05:00Z"),
      new Date("2001-02-03T04:05:00Z"),
    );
    const url = `${server.url}/vfs/tree`;

    const ours = await nfs4(["ls", "-ln", url], { TZ: "UTC" });
    assert.equal(ours.code, 0, ours.stderr);
    const coreutils = await new Deno.Command("ls", {
      args: ["-ln", dir],
      env: { LC_ALL: "C", TZ: "UTC" },
      stdout: "piped",
    }).output().catch(() => undefined);
    if (coreutils?.success) {
      // Without ACL or SELinux markers after the mode, which NFS does not carry.
      const expected = new TextDecoder().decode(coreutils.stdout).replace(/^(\S{10})[.+]/gm, "$1");
      assert.equal(ours.stdout, expected);
    }
    assert.match(ours.stdout, /^total \d+\n-rwsr-xr-x 1 /);
    assert.match(ours.stdout, / Feb {2}3 {2}2001 big\n/);
    assert.match(ours.stdout, / link -> a\.txt\n/);

    const plain = await nfs4(["ls", url, `${url}/a.txt`]);
    assert.equal(plain.stdout, `${url}/a.txt\n\n${url}:\na.txt\nbig\nlink\nsp ace\nsub\n`);

    const missing = await nfs4(["ls", `${url}/nope`, `${url}/sub`]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, `nfs4: ${url}/nope: No such file or directory (NFS4ERR_NOENT)\n`);
    assert.equal(missing.stdout, `${url}/sub:\n`);

    const json = await nfs4(["ls", "--json", url]);
    const records = json.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(records.map((r) => r.name), ["a.txt", "big", "link", "sp ace", "sub"]);
    assert.equal(records[1].size, 100_000);
    assert.equal(records[3].url, `${url}/sp%20ace`);
  },
);
