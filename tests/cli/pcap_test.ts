/**
 * `nfs4 --pcap FILE` against NFS-Ganesha on NFSv4.0 and 4.1: `ls -l`,
 * `cat` (records larger than one segment), `cp` up and a `lock` that waits
 * for a second holder each leave a capture that `tshark -r FILE` decodes
 * with no malformed frame, no TCP analysis flag and no expert error, holding
 * the NFS operations the command uses and exactly one RPC frame per record
 * the process sent and received. The records are counted independently by
 * the fault proxy (tests/_fault_proxy.ts) the command talks through. A lock
 * wait stopped by SIGINT still leaves a whole, decodable file, and a FIFO is
 * read live by `tshark -r FIFO` while the command still runs.
 */

import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { opName } from "../../lib/nfs4/constants.ts";
import { FaultProxy } from "../_fault_proxy.ts";
import { serverTest } from "../_server.ts";
import { holdingLine, sleep, startNfs4 } from "./_lock.ts";
import { nfs4, nfs4Hashed } from "./_spawn.ts";

const tshark = ["/usr/bin/tshark", "/usr/local/bin/tshark"].find((p) => fs.existsSync(p));
const NFS4ERR_DENIED = 10010;
const EXPERT_ERROR = 0x00800000;

/** One frame as tshark decodes it. */
interface Frame {
  srcPort: number;
  dstPort: number;
  syn: boolean;
  fin: boolean;
  /** TCP payload bytes. */
  length: number;
  /** RPC message types in the frame ("0" call, "1" reply); [] when none. */
  msgtyp: string[];
  ops: string[];
  statuses: number[];
  malformed: boolean;
  analysis: string;
  expertError: boolean;
}

const FIELDS = [
  "tcp.srcport",
  "tcp.dstport",
  "tcp.flags.syn",
  "tcp.flags.fin",
  "tcp.len",
  "rpc.msgtyp",
  "nfs.opcode",
  "nfs.nfsstat4",
  "_ws.malformed",
  "tcp.analysis.flags",
  "_ws.expert.severity",
];

function parseFrames(stdout: string): Frame[] {
  return stdout.split("\n").filter((l) => l !== "").map((line) => {
    const [src, dst, syn, fin, len, msgtyp, ops, statuses, malformed, analysis, severity] = line
      .split("\t");
    const list = (s: string | undefined) => (s ?? "").split(",").filter(Boolean);
    return {
      srcPort: Number(src),
      dstPort: Number(dst),
      syn: syn === "1" || syn === "True",
      fin: fin === "1" || fin === "True",
      length: Number(len),
      msgtyp: list(msgtyp),
      ops: list(ops).map((n) => opName(Number(n))),
      statuses: list(statuses).map(Number),
      malformed: (malformed ?? "") !== "",
      analysis: analysis ?? "",
      expertError: list(severity).some((s) => Number(s) >= EXPERT_ERROR),
    };
  });
}

/** `tshark -r FILE` as a user runs it (no decode-as), one line of fields per frame. */
function decode(file: string): Promise<Frame[]> {
  return new Promise((resolve, reject) => {
    execFile(
      tshark!,
      [
        "-n",
        "-r",
        file,
        "-T",
        "fields",
        ...FIELDS.flatMap((f) => ["-e", f]),
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
      ],
      { maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`tshark -r ${file} failed: ${stderr || error.message}`));
        else resolve(parseFrames(stdout));
      },
    );
  });
}

/** Records the proxy has seen so far, each way. */
function records(proxy: FaultProxy): { toServer: number; toClient: number } {
  const { toServer, toClient } = proxy.stats;
  return { toServer: toServer.records, toClient: toClient.records };
}

/** Waits until the proxy's counts stop moving (what the client sent last has arrived). */
async function settled(proxy: FaultProxy): Promise<{ toServer: number; toClient: number }> {
  let last = JSON.stringify(records(proxy));
  for (;;) {
    await sleep(100);
    const now = JSON.stringify(records(proxy));
    if (now === last) return records(proxy);
    last = now;
  }
}

/**
 * What every capture must be: every frame decoded, none malformed, no TCP
 * analysis flag or expert error, every connection opened and closed, and
 * one RPC frame per record the process sent (`sent`) and received
 * (`received`) on its connections through the proxy. Returns the NFS
 * operations of the frames, by direction.
 */
function assertCapture(
  frames: readonly Frame[],
  proxyPort: number,
  counts: { sent: number; received: number },
): { calls: Set<string>; replies: Frame[] } {
  assert.ok(frames.length > 0, "frames");
  assert.deepEqual(frames.filter((f) => f.malformed), [], "no malformed frame");
  assert.deepEqual(frames.filter((f) => f.analysis !== ""), [], "no TCP analysis flag");
  assert.deepEqual(frames.filter((f) => f.expertError), [], "no expert error");
  const ours = frames.filter((f) => f.srcPort === proxyPort || f.dstPort === proxyPort);
  const rpc = ours.filter((f) => f.msgtyp.length > 0);
  assert.ok(rpc.every((f) => f.msgtyp.length === 1), "one RPC message per frame");
  const sent = rpc.filter((f) => f.dstPort === proxyPort).length;
  const received = rpc.filter((f) => f.srcPort === proxyPort).length;
  const ports = [...new Set(frames.map((f) => `${f.srcPort}>${f.dstPort}`))].join(" ");
  assert.deepEqual(
    { sent, received },
    counts,
    `one RPC frame per record sent and received (proxy port ${proxyPort}; frames ${ports})`,
  );
  // Frames without RPC are handshakes, FINs and the first segments of large records.
  const syns = frames.filter((f) => f.syn).length;
  const fins = frames.filter((f) => f.fin).length;
  assert.ok(syns > 0 && syns % 2 === 0, `SYN and SYN-ACK per connection: ${syns}`);
  assert.equal(fins, syns, "every connection ended with FINs (the file is complete)");
  assert.ok(
    frames.every((f) =>
      f.msgtyp.length > 0 || f.syn || f.fin || f.length === 0 || f.length === 65495
    ),
    "every other frame is a handshake, FIN, ACK or full segment",
  );
  const calls = new Set(rpc.filter((f) => f.dstPort === proxyPort).flatMap((f) => f.ops));
  return { calls, replies: rpc.filter((f) => f.srcPort === proxyPort) };
}

/** The counts of a {@linkcode capturedRun}. */
function counted(run: { sent: number; received: number }): { sent: number; received: number } {
  return { sent: run.sent, received: run.received };
}

/** The operations a client of each minor version uses to set up and tear down. */
function lifecycleOps(vers: "4.0" | "4.1"): string[] {
  return vers === "4.0"
    ? ["SETCLIENTID", "SETCLIENTID_CONFIRM", "PUTROOTFH", "GETATTR"]
    : ["EXCHANGE_ID", "CREATE_SESSION", "SEQUENCE", "DESTROY_SESSION", "DESTROY_CLIENTID"];
}

function assertOps(calls: Set<string>, wanted: readonly string[], what: string): void {
  for (const op of wanted) assert.ok(calls.has(op), `${what}: ${op} in ${[...calls].join(",")}`);
}

/** A run of `nfs4` (through the proxy) with `--pcap` and what the proxy saw of it. */
async function capturedRun<T>(
  proxy: FaultProxy,
  run: () => Promise<T>,
): Promise<{ ended: T; sent: number; received: number }> {
  const before = records(proxy);
  const ended = await run();
  const after = await settled(proxy);
  return {
    ended,
    sent: after.toServer - before.toServer,
    received: after.toClient - before.toClient,
  };
}

for (const vers of ["4.0", "4.1"] as const) {
  const v = ["--vers", vers];

  serverTest(
    `nfs4 --pcap (NFSv${vers}): every command (ls, cat, cp up, stat, df, mkdir, touch, truncate, chmod, chown, ln, mv, du, find, head, tail, rm, rmdir, info, shell) and a lock wait leave a capture tshark decodes whole, with their operations and one RPC frame per record`,
    async (server) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nfs4-pcap-"));
      await using proxy = await FaultProxy.start({ target: server, log: () => {} });
      try {
        const exp = server.exportDir;
        fs.mkdirSync(path.join(exp, "d"));
        for (const name of ["a", "b", "c"]) fs.writeFileSync(path.join(exp, "d", name), name);
        const big = randomBytes(3 * 1024 * 1024 + 12345);
        fs.writeFileSync(path.join(exp, "big"), big);
        const local = path.join(dir, "up.bin");
        fs.writeFileSync(local, randomBytes(2 * 1024 * 1024 + 7));
        fs.writeFileSync(path.join(exp, "lockme"), "data\n");

        const rows: {
          name: string;
          args: string[];
          ops: string[];
          run?: (args: string[]) => Promise<{ code: number; stderr: string }>;
        }[] = [
          {
            name: "ls",
            args: ["ls", "-l", `${proxy.url}/vfs/d`],
            ops: ["LOOKUP", "READDIR"],
            run: async (args) => {
              const r = await nfs4(args);
              assert.match(r.stdout, /^total \d+\n-.* a\n-.* b\n-.* c\n$/);
              return r;
            },
          },
          {
            name: "cat",
            args: ["cat", `${proxy.url}/vfs/big`],
            ops: ["OPEN", "READ", "CLOSE"],
            run: async (args) => {
              const r = await nfs4Hashed(args);
              assert.equal(r.sha256, createHash("sha256").update(big).digest("hex"));
              return r;
            },
          },
          {
            name: "cp",
            args: ["cp", local, `${proxy.url}/vfs/up.bin`],
            ops: ["OPEN", "WRITE", "CLOSE"],
          },
          // The issue-16 commands, one row each, in an order that lets each use the last.
          { name: "stat", args: ["stat", `${proxy.url}/vfs/big`], ops: ["LOOKUP", "GETATTR"] },
          { name: "df", args: ["df", `${proxy.url}/vfs`], ops: ["GETATTR"] },
          { name: "mkdir", args: ["mkdir", `${proxy.url}/vfs/m`], ops: ["CREATE"] },
          {
            name: "touch",
            args: ["touch", `${proxy.url}/vfs/m/t`],
            ops: ["OPEN", "CLOSE", "SETATTR"],
          },
          {
            name: "truncate",
            args: ["truncate", "-s", "10", `${proxy.url}/vfs/m/t`],
            ops: ["OPEN", "SETATTR", "CLOSE"],
          },
          { name: "chmod", args: ["chmod", "600", `${proxy.url}/vfs/m/t`], ops: ["SETATTR"] },
          { name: "chown", args: ["chown", "0:0", `${proxy.url}/vfs/m/t`], ops: ["SETATTR"] },
          {
            name: "ln",
            args: ["ln", `${proxy.url}/vfs/m/t`, `${proxy.url}/vfs/m/hard`],
            ops: ["LINK"],
          },
          { name: "ln -s", args: ["ln", "-s", "t", `${proxy.url}/vfs/m/soft`], ops: ["CREATE"] },
          {
            name: "mv",
            args: ["mv", `${proxy.url}/vfs/m/hard`, `${proxy.url}/vfs/m/moved`],
            ops: ["RENAME"],
          },
          { name: "du", args: ["du", `${proxy.url}/vfs/m`], ops: ["READDIR"] },
          { name: "find", args: ["find", `${proxy.url}/vfs`, "-name", "t"], ops: ["READDIR"] },
          {
            name: "head",
            args: ["head", "-c", "100", `${proxy.url}/vfs/big`],
            ops: ["OPEN", "READ", "CLOSE"],
          },
          {
            name: "tail",
            args: ["tail", "-c", "100", `${proxy.url}/vfs/big`],
            ops: ["OPEN", "READ", "CLOSE"],
          },
          { name: "rm", args: ["rm", "-r", `${proxy.url}/vfs/m`], ops: ["READDIR", "REMOVE"] },
          { name: "rmdir", args: ["rmdir", `${proxy.url}/vfs/d2`], ops: ["REMOVE"] },
          {
            name: "info",
            args: ["info", `${proxy.url}/vfs`],
            ops: ["PUTROOTFH", vers === "4.0" ? "SECINFO" : "SECINFO_NO_NAME", "READDIR"],
          },
          {
            name: "shell",
            args: ["shell", `${proxy.url}/vfs`, "-c", "cd d; ls; cat a; lock -x b; state"],
            ops: ["READDIR", "OPEN", "READ", "LOCK", "LOCKU", "CLOSE"],
          },
        ];
        fs.mkdirSync(path.join(exp, "d2"));
        for (const row of rows) {
          const file = path.join(dir, `${row.name}.pcap`);
          const args = [...v, "--pcap", file, ...row.args];
          const run = await capturedRun(proxy, () => (row.run ?? nfs4)(args));
          assert.equal(run.ended.code, 0, `${row.name}: ${run.ended.stderr}`);
          const frames = await decode(file);
          let calls: Set<string>;
          try {
            ({ calls } = assertCapture(frames, proxy.port, counted(run)));
          } catch (e) {
            throw new Error(`${row.name}: ${(e as Error).message}`, { cause: e });
          }
          assertOps(calls, [...lifecycleOps(vers), ...row.ops], row.name);
          if (row.name === "cat") {
            // READ replies of 1 MiB: several segments each, reassembled.
            assert.ok(frames.filter((f) => f.length === 65495).length >= 3 * 16);
          }
        }
        assert.deepEqual(
          fs.readFileSync(path.join(exp, "up.bin")),
          fs.readFileSync(local),
          "cp copied the file",
        );

        // A lock wait: the holder (straight to the server, not captured) lets go after 1.5 s.
        const holder = startNfs4([
          ...v,
          "lock",
          `${server.url}/vfs/lockme`,
          "--",
          "sh",
          "-c",
          "echo held; sleep 1.5",
        ]);
        await holder.waitFor("stdout", /^held$/m);
        const file = path.join(dir, "lock.pcap");
        const run = await capturedRun(
          proxy,
          () =>
            startNfs4([...v, "--pcap", file, "lock", `${proxy.url}/vfs/lockme`, "--", "true"])
              .done,
        );
        assert.equal((await holder.done).code, 0);
        assert.equal(run.ended.code, 0, run.ended.stderr);
        const frames = await decode(file);
        const { calls, replies } = assertCapture(frames, proxy.port, counted(run));
        assertOps(calls, [...lifecycleOps(vers), "OPEN", "LOCK", "LOCKU", "CLOSE"], "lock");
        const denied = replies.filter((f) =>
          f.ops.includes("LOCK") && f.statuses.includes(NFS4ERR_DENIED)
        );
        assert.ok(denied.length >= 1, "the LOCK was denied while the holder held it");
        const granted = replies.filter((f) =>
          f.ops.includes("LOCK") && !f.statuses.some((s) => s !== 0)
        );
        assert.equal(granted.length, 1, "then granted");
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    { ignore: !tshark },
  );
}

serverTest(
  "nfs4 --pcap: a lock wait stopped by SIGINT exits 130 and leaves a whole capture (FINs included) that tshark decodes, one RPC frame per record (NFSv4.0 and 4.1)",
  async (server) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nfs4-pcap-"));
    await using proxy = await FaultProxy.start({ target: server, log: () => {} });
    try {
      fs.writeFileSync(path.join(server.exportDir, "f"), "data\n");
      for (const vers of ["4.0", "4.1"] as const) {
        const direct = `${server.url}/vfs/f`;
        const holder = startNfs4(["--vers", vers, "lock", direct]);
        await holder.waitFor("stderr", holdingLine(direct, "exclusive", "0-"));
        const file = path.join(dir, `int-${vers}.pcap`);
        const run = await capturedRun(proxy, async () => {
          const waiter = startNfs4([
            "--vers",
            vers,
            "--trace=json",
            "--pcap",
            file,
            "lock",
            `${proxy.url}/vfs/f`,
            "--",
            "true",
          ]);
          await waiter.waitFor("stderr", /"event":"LOCK denied, waiting"/);
          await sleep(150); // past the first pause: into a second LOCK or its wait
          waiter.kill("SIGINT");
          return await waiter.done;
        });
        holder.kill("SIGTERM");
        assert.equal((await holder.done).code, 0);
        assert.equal(run.ended.code, 130, run.ended.stderr);
        const frames = await decode(file);
        const { calls, replies } = assertCapture(frames, proxy.port, counted(run));
        assertOps(calls, ["OPEN", "LOCK", "CLOSE"], `SIGINT ${vers}`);
        assert.ok(
          replies.some((f) => f.ops.includes("LOCK") && f.statuses.includes(NFS4ERR_DENIED)),
        );
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
  { ignore: !tshark },
);

serverTest(
  "nfs4 --pcap FIFO: tshark -r FIFO shows the LOCK while the holder still runs; the whole stream decodes, one RPC frame per record",
  async (server) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nfs4-pcap-"));
    await using proxy = await FaultProxy.start({ target: server, log: () => {} });
    let reader: ReturnType<typeof spawn> | undefined;
    try {
      fs.writeFileSync(path.join(server.exportDir, "f"), "data\n");
      const fifo = path.join(dir, "live.pcap");
      const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
      assert.ok(made.success);
      reader = spawn(
        tshark!,
        [
          "-l",
          "-n",
          "-r",
          fifo,
          "-T",
          "fields",
          ...FIELDS.flatMap((f) => ["-e", f]),
          "-E",
          "occurrence=a",
          "-E",
          "aggregator=,",
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      let out = "";
      reader.stdout!.setEncoding("utf8");
      reader.stdout!.on("data", (chunk: string) => out += chunk);
      const readerDone = new Promise<number | null>((resolve) => reader!.once("exit", resolve));

      const url = `${proxy.url}/vfs/f`;
      const before = records(proxy);
      const holder = startNfs4(["--vers", "4.1", "--pcap", fifo, "lock", url]);
      await holder.waitFor("stderr", holdingLine(url, "exclusive", "0-"));
      // Live: the granted LOCK's reply is decoded while the holder still holds.
      const deadline = performance.now() + 10_000;
      while (!parseFrames(out).some((f) => f.msgtyp[0] === "1" && f.ops.includes("LOCK"))) {
        assert.ok(performance.now() < deadline, `tshark showed no LOCK reply live:\n${out}`);
        await sleep(50);
      }
      assert.equal(holder.text("stderr").split("\n").filter(Boolean).length, 1, "still holding");
      holder.kill("SIGTERM");
      const ended = await holder.done;
      assert.equal(ended.code, 0, ended.stderr);
      assert.equal(await readerDone, 0);
      const after = await settled(proxy);
      const frames = parseFrames(out);
      const { calls } = assertCapture(frames, proxy.port, {
        sent: after.toServer - before.toServer,
        received: after.toClient - before.toClient,
      });
      assertOps(
        calls,
        ["EXCHANGE_ID", "OPEN", "LOCK", "LOCKU", "CLOSE", "DESTROY_SESSION"],
        "fifo",
      );
    } finally {
      reader?.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
  { ignore: !tshark },
);

serverTest(
  "nfs4 --pcap FIFO that no process reads yet: Ctrl-C ends the wait for a reader at once (exit 130, it used to take no signal, blocked in open(2)); a reader that comes later gets the whole capture",
  async (server) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nfs4-pcap-"));
    try {
      const fifo = path.join(dir, "wait.pcap");
      assert.ok((await new Deno.Command("mkfifo", { args: [fifo] }).output()).success);
      const url = `nfs://127.0.0.1:${server.port}/vfs`;
      const waiting = startNfs4(["--pcap", fifo, "ls", url]);
      await sleep(1500);
      waiting.kill("SIGINT");
      const backstop = setTimeout(() => waiting.kill("SIGKILL"), 5_000);
      const stopped = await waiting.done;
      clearTimeout(backstop);
      assert.equal(stopped.code, 130, stopped.stderr);
      assert.ok(stopped.ms < 5_000, `${stopped.ms} ms`);

      const lister = startNfs4(["--pcap", fifo, "ls", url]);
      await sleep(500);
      const read = new Deno.Command("cat", { args: [fifo], stdout: "piped" }).output();
      const listed = await lister.done;
      assert.equal(listed.code, 0, listed.stderr);
      const bytes = (await read).stdout;
      // The pcap global header, then packets.
      assert.ok(bytes.length > 24, `${bytes.length} bytes`);
      assert.deepEqual([...bytes.subarray(0, 4)], [0xd4, 0xc3, 0xb2, 0xa1]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);
