/**
 * `nfs4 cat` writing to the stdout it is given, under `deno run`, where data
 * goes to fd 1 with write(2) (cli/output.ts): the descriptor's offset stays
 * shared with the shell that opened it, appends stay appends, a full pipe
 * set non-blocking is waited for, a full disk fails with one line, and the
 * bytes are exact, with and without newlines in them.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { serverTest } from "../_server.ts";
import { ROOT, sha256 } from "./_spawn.ts";

const MiB = 1024 * 1024;

/** Bytes without a newline (zeros), then random bytes with many. */
function testData(server: { exportDir: string }): { zeros: Uint8Array; random: Uint8Array } {
  const zeros = new Uint8Array(3 * MiB + 5);
  const random = new Uint8Array(2 * MiB + 3);
  for (let at = 0; at < random.length; at += 65536) {
    crypto.getRandomValues(random.subarray(at, Math.min(random.length, at + 65536)));
  }
  Deno.writeFileSync(`${server.exportDir}/zeros`, zeros);
  Deno.writeFileSync(`${server.exportDir}/random`, random);
  return { zeros, random };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** Runs a bash script with `$NFS4` set to `deno run -A cli/main.ts`. */
async function bash(script: string): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command("bash", {
    args: ["-c", script],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1", NFS4: `${Deno.execPath()} run -A cli/main.ts` },
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

serverTest("nfs4 cat writes where the shell's descriptor is, and appends", async (server) => {
  const { zeros, random } = testData(server);
  const url = `${server.url}/vfs`;
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/out`;
    const r = await bash(
      `{ printf HEAD; $NFS4 cat ${url}/zeros ${url}/random; printf TAIL; } > ${file}`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    const enc = new TextEncoder();
    const got = Deno.readFileSync(file);
    const want = concat(enc.encode("HEAD"), zeros, random, enc.encode("TAIL"));
    assert.equal(got.length, want.length);
    assert.equal(sha256(got), sha256(want));

    const appended = await bash(`printf X > ${file} && $NFS4 cat ${url}/random >> ${file}`);
    assert.equal(appended.code, 0, appended.stderr);
    assert.equal(sha256(Deno.readFileSync(file)), sha256(concat(enc.encode("X"), random)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

serverTest("nfs4 cat waits for a full non-blocking pipe and loses nothing", async (server) => {
  const { zeros, random } = testData(server);
  const url = `${server.url}/vfs`;
  // python3 hands nfs4 a pipe set O_NONBLOCK and reads it slowly.
  const script = `
import fcntl, hashlib, os, subprocess, sys, time
r, w = os.pipe()
fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)
p = subprocess.Popen(sys.argv[1:], stdout=w, stderr=subprocess.PIPE)
os.close(w)
time.sleep(0.5)
h, n = hashlib.sha256(), 0
while True:
    b = os.read(r, 65536)
    if not b:
        break
    h.update(b)
    n += len(b)
    time.sleep(0.001)
err = p.stderr.read().decode()
print(p.wait(), n, h.hexdigest(), repr(err))
`;
  const out = await new Deno.Command("python3", {
    args: [
      "-c",
      script,
      Deno.execPath(),
      "run",
      "-A",
      "cli/main.ts",
      "cat",
      `${url}/random`,
      `${url}/zeros`,
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).output().catch(() => undefined);
  if (!out?.success) return; // no python3 here
  const want = concat(random, zeros);
  assert.equal(
    new TextDecoder().decode(out.stdout).trim(),
    `0 ${want.length} ${sha256(want)} ''`,
  );
});

serverTest("nfs4 cat into a full device fails with one line", async (server) => {
  testData(server);
  const r = await bash(`$NFS4 cat ${server.url}/vfs/random > /dev/full`);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "nfs4: write error: No space left on device\n");
});
