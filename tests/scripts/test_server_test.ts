import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs/promises";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import {
  freePort,
  graceFromLog,
  probeRoot,
  rpcNull,
  startTestServer,
} from "../../scripts/test_server.ts";
import { hasGanesha, serverTest, withServer } from "../_server.ts";
import { decodeNfs, hasTshark, startCapture } from "../_tshark.ts";

const SCRIPT = path.join(import.meta.dirname!, "..", "..", "scripts", "test_server.ts");

function run(
  file: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function hasCommand(name: string): Promise<boolean> {
  return (await run("sh", ["-c", `command -v ${name}`])).code === 0;
}

const hasLibnfs = await hasCommand("nfs-ls");

function libnfsUrl(port: number, file = ""): string {
  return `nfs://127.0.0.1/vfs/${file}?version=4&nfsport=${port}`;
}

const slow = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "freePort() returns a port that can be listened on",
  ...slow,
  async fn() {
    const port = await freePort();
    assert.ok(port > 0 && port < 65536);
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: "127.0.0.1", port }, resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  },
});

Deno.test("graceFromLog() reads the last start's grace state", () => {
  const start = "x main :MAIN :EVENT :ganesha.nfsd Starting: Ganesha Version 4.3\n";
  const enter = "x nfs_start_grace :STATE :EVENT :NFS Server Now IN GRACE, duration 5\n";
  const lift = "x nfs_lift_grace_locked :STATE :EVENT :NFS Server Now NOT IN GRACE\n";
  assert.equal(graceFromLog(""), false);
  assert.equal(graceFromLog(start + enter), true);
  assert.equal(graceFromLog(start + enter + lift), false);
  assert.equal(graceFromLog(start + enter + lift + start + enter), true);
  assert.equal(graceFromLog(start + enter + start), false);
});

Deno.test({
  name: "startTestServer() runs two instances at once, each answering NFSv4",
  ignore: !hasGanesha,
  ...slow,
  async fn() {
    const [a, b] = await Promise.all([startTestServer(), startTestServer()]);
    try {
      assert.notEqual(a.port, b.port);
      assert.notEqual(a.dir, b.dir);
      assert.notEqual(a.pid, b.pid);
      assert.equal(a.url, `nfs://127.0.0.1:${a.port}`);
      assert.equal(a.exportDir, await fs.realpath(path.join(a.dir, "export")));
      for (const server of [a, b]) {
        await rpcNull(server.port);
        assert.equal(await probeRoot(server.port), 0);
        assert.equal(await probeRoot(server.port, 2000, 1), 10071); // OP_NOT_IN_SESSION: 4.1 on
        assert.equal(await probeRoot(server.port, 2000, 2), 10071);
        const config = await fs.readFile(path.join(server.dir, "ganesha.conf"), "utf8");
        assert.match(config, new RegExp(`NFS_Port = ${server.port};`));
        assert.match(config, new RegExp(`RecoveryRoot = "${server.dir}/recovery"`));
        const log = await fs.readFile(server.logFile, "utf8");
        assert.doesNotMatch(log, /Unknown parameter/);
      }
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    await a.stop(); // a second stop is harmless
    await assert.rejects(rpcNull(a.port, 500));
    await assert.rejects(rpcNull(b.port, 500));
    await Promise.all([a, b].map((s) => fs.rm(s.dir, { recursive: true, force: true })));
  },
});

Deno.test({
  name: "restart() reboots on the same recovery directory into the grace period",
  ignore: !hasGanesha || !hasLibnfs,
  ...slow,
  async fn() {
    await withServer(async (server) => {
      await fs.writeFile(path.join(server.exportDir, "hello.txt"), "hello\n");
      const cat = await run("nfs-cat", [libnfsUrl(server.port, "hello.txt")]);
      assert.equal(cat.stdout, "hello\n", cat.stderr);
      const records = await fs.readdir(path.join(server.recoveryDir, "v4recov"));
      assert.ok(records.length >= 1, "nfs-cat left a client record");
      assert.equal(await server.inGrace(), false);

      const oldPid = server.pid;
      await server.restart();
      assert.notEqual(server.pid, oldPid);
      await rpcNull(server.port);
      assert.equal(await server.inGrace(), true);
      // The reboot moved the records to v4old, where reclaims are checked against.
      const old = await fs.readdir(path.join(server.recoveryDir, "v4old"));
      assert.deepEqual(old.sort(), records.sort());
      const denied = await run("nfs-cat", [libnfsUrl(server.port, "hello.txt")]);
      assert.notEqual(denied.code, 0);
      assert.match(denied.stderr + denied.stdout, /NFS4ERR_GRACE/);

      // crash() and start() are the same reboot in two steps.
      await server.crash();
      await assert.rejects(rpcNull(server.port, 500));
      await server.crash(); // harmless when already down
      await server.start();
      await rpcNull(server.port);
    });
  },
});

Deno.test({
  name: "decodeNfs() decodes a libnfs nfs-ls session with no malformed packets",
  ignore: !hasGanesha || !hasTshark || !hasLibnfs,
  ...slow,
  async fn() {
    await withServer(async (server) => {
      await fs.writeFile(path.join(server.exportDir, "a.txt"), "a");
      const capture = await startCapture(server.port);
      let decoded;
      try {
        const ls = await run("nfs-ls", [libnfsUrl(server.port)]);
        assert.equal(ls.code, 0, ls.stderr);
        assert.match(ls.stdout, /a\.txt/);
      } finally {
        await capture.stop();
        await capture.stop();
      }
      try {
        decoded = await decodeNfs(capture.file, server.port);
      } finally {
        await fs.rm(path.dirname(capture.file), { recursive: true, force: true });
      }
      assert.equal(decoded.malformed, 0);
      assert.equal(decoded.expertErrors, 0);
      const ops = new Set(decoded.frames.flatMap((frame) => frame.ops));
      for (const op of ["SETCLIENTID", "PUTROOTFH", "LOOKUP", "GETATTR", "READDIR"]) {
        assert.ok(ops.has(op), `${op} in ${[...ops].join(" ")}`);
      }
      const readdir = decoded.frames.filter((frame) => frame.ops.includes("READDIR"));
      assert.deepEqual(readdir.map((frame) => frame.isReply), [false, true]);
      assert.match(readdir[0]!.info, /V4 Call/);
      assert.ok(decoded.packets > decoded.frames.length, "TCP-only frames are counted too");
    });
  },
});

Deno.test({
  name: "decodeNfs() reports a truncated COMPOUND as malformed",
  ignore: !hasTshark,
  ...slow,
  async fn() {
    const port = await freePort();
    const server = net.createServer((socket) => socket.on("data", () => socket.end()));
    await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port }, resolve));
    const capture = await startCapture(port);
    try {
      // RPC CALL to NFSv4 COMPOUND: AUTH_NONE, tag "", minorversion 0, 3 ops,
      // PUTFH with a 100-byte handle of which 8 bytes are sent.
      const words = [0x1234, 0, 2, 100003, 4, 1, 0, 0, 0, 0, 0, 0, 3, 22, 100, 0, 0];
      const record = new Uint8Array(4 + words.length * 4);
      const view = new DataView(record.buffer);
      view.setUint32(0, (0x80000000 | (words.length * 4)) >>> 0);
      words.forEach((word, i) => view.setUint32(4 + i * 4, word));
      await new Promise<void>((resolve, reject) => {
        const socket = net.createConnection({ host: "127.0.0.1", port }, () => {
          socket.write(record);
        });
        socket.on("error", reject);
        socket.on("close", () => resolve());
        socket.resume();
      });
    } finally {
      await capture.stop();
      await new Promise((resolve) => server.close(resolve));
    }
    const decoded = await decodeNfs(capture.file, port);
    await fs.rm(path.dirname(capture.file), { recursive: true, force: true });
    assert.equal(decoded.malformed, 1);
    assert.ok(decoded.expertErrors >= 1);
    const [frame] = decoded.frames.filter((f) => f.malformed);
    assert.deepEqual(frame!.ops, ["PUTFH"]);
    assert.equal(frame!.isReply, false);
    assert.match(frame!.info, /Malformed/);
  },
});

serverTest("serverTest() hands over a running server and stops it afterwards", async (server) => {
  await rpcNull(server.port);
  assert.equal(server.host, "127.0.0.1");
  assert.equal(server.leaseSeconds, 5);
  assert.equal(server.graceSeconds, 5);
});

Deno.test({
  name: "withServer() stops the server when the callback throws",
  ignore: !hasGanesha,
  ...slow,
  async fn() {
    let port = 0;
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "nfs4-test-"));
    await assert.rejects(
      withServer(async (server) => {
        port = server.port;
        await rpcNull(server.port);
        throw new Error("boom");
      }, { dir }),
      /boom/,
    );
    await assert.rejects(rpcNull(port, 500));
    await fs.rm(dir, { recursive: true, force: true });
  },
});

Deno.test({
  name: "test_server.ts CLI: start outlives the command; restart, status and stop by --dir",
  ignore: !hasGanesha,
  ...slow,
  async fn() {
    const deno = process.execPath;
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "nfs4-cli-"));
    const cli = (...args: string[]) => run(deno, ["run", "-A", SCRIPT, ...args]);
    try {
      const started = await cli("start", "--dir", dir, "--lease", "7");
      assert.equal(started.code, 0, started.stderr);
      const [url, dirLine] = started.stdout.split("\n");
      const port = Number(/^nfs:\/\/127\.0\.0\.1:(\d+)\/vfs$/.exec(url!)?.[1]);
      assert.ok(port > 0, url ?? "no URL line");
      assert.equal(dirLine, `dir ${dir}`);
      await rpcNull(port); // the CLI has exited; the server runs on
      assert.match(
        await fs.readFile(path.join(dir, "ganesha.conf"), "utf8"),
        /Lease_Lifetime = 7;/,
      );

      const status = await cli("status", "--dir", dir, "--json");
      assert.equal(status.code, 0, status.stderr);
      const info = JSON.parse(status.stdout);
      assert.equal(info.state, "running");
      assert.equal(info.port, port);

      const restarted = await cli("restart", "--dir", dir);
      assert.equal(restarted.code, 0, restarted.stderr);
      assert.equal(restarted.stdout.split("\n")[0], url);
      await rpcNull(port);
      assert.notEqual(
        JSON.parse((await cli("status", "--dir", dir, "--json")).stdout).pid,
        info.pid,
      );

      const stopped = await cli("stop", "--dir", dir);
      assert.equal(stopped.code, 0, stopped.stderr);
      await assert.rejects(rpcNull(port, 500));
      assert.equal((await cli("stop", "--dir", dir)).code, 0);
      const after = await cli("status", "--dir", dir);
      assert.equal(after.code, 1);
      assert.equal(after.stdout.split("\n")[0], "stopped");

      assert.equal((await cli("bogus")).code, 2);
      assert.equal((await cli("stop")).code, 2);
      assert.equal((await cli("start", "--port", "x")).code, 2);
    } finally {
      await cli("crash", "--dir", dir);
      await fs.rm(dir, { recursive: true, force: true });
    }
  },
});
