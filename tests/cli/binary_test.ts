/**
 * The single binary (`deno task build` → dist/nfs4) runs every subcommand
 * against Ganesha with no Deno, Node or Bun on the PATH: it is
 * self-contained. And large reads through it, whose socket waits for
 * streamed READ replies in poll(2) (lib/rpc/socket_ffi.ts,
 * `setStreamingReplyWait`, set by cli/connect.ts): `cat` and `cp` of 40 MiB
 * bring every byte, and Ctrl-C while the reply a `cat` waits for is held
 * back (the fault proxy delays it 5 s, so the 20 ms wait has timed out and
 * the socket waits for SIGIO) ends the command at once, its state released,
 * exit 130. (The wait itself, ended by a signal, is checked under Bun:
 * tests/rpc/_ffi_streaming_check.ts.) One build serves the module's tests.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { serverTest } from "../_server.ts";
import { FaultProxy } from "../_fault_proxy.ts";
import { sleep, startNfs4 } from "./_lock.ts";
import { assertClean, VERSIONS } from "./_clean_exit.ts";
import { builtBinary } from "./_binary.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

const binary = builtBinary;

/** A PATH with only the few plain tools the smoke test's commands use. */
function barePath(): string {
  const dir = mkdtempSync(join(tmpdir(), "nfs4-bare-path-"));
  for (const tool of ["sh", "true", "cat", "echo"]) symlinkSync(`/bin/${tool}`, join(dir, tool));
  return dir;
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function runBinary(binary: string, path: string, args: string[]): Promise<Result> {
  const out = await new Deno.Command(binary, {
    args,
    clearEnv: true,
    env: { PATH: path, HOME: tmpdir(), TMPDIR: tmpdir() },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

serverTest(
  "the single binary runs every subcommand with no Deno, Node or Bun on the PATH",
  async (server) => {
    const work = mkdtempSync(join(tmpdir(), "nfs4-binary-"));
    const path = barePath();
    try {
      const outfile = binary();
      for (const runtime of ["deno", "node", "bun"]) {
        const which = await new Deno.Command("/bin/sh", {
          args: ["-c", `command -v ${runtime}`],
          clearEnv: true,
          env: { PATH: path },
        }).output();
        assert.notEqual(which.code, 0, `${runtime} must not be on the PATH`);
      }
      const nfs4 = (...args: string[]) => runBinary(outfile, path, args);
      const url = `${server.url}/vfs`;
      writeFileSync(join(server.exportDir, "hello.txt"), "hello from the binary\n");

      const version = await nfs4("--version");
      assert.equal(version.code, 0);
      assert.match(
        version.stdout,
        /^nfs4 \d+\.\d+\.\d+ \(\S+ \d{4}-\d\d-\d\d; single binary, bun /,
      );

      const help = await nfs4("--help");
      assert.equal(help.code, 0);
      for (
        const command of [
          "ls",
          "cat",
          "cp",
          "lock",
          "renew-watch",
          "simulate-reboot",
          "completions",
          "stat",
          "df",
          "rm",
          "rmdir",
          "mkdir",
          "mv",
          "ln",
          "chmod",
          "chown",
          "touch",
          "truncate",
          "du",
          "find",
          "head",
          "tail",
          "info",
          "shell",
        ]
      ) {
        assert.match(help.stdout, new RegExp(`^  ${command}\\b`, "m"), `--help lists ${command}`);
      }

      const ls = await nfs4("ls", "-l", url);
      assert.equal(ls.code, 0, ls.stderr);
      assert.match(ls.stdout, /hello\.txt$/m);

      const cat = await nfs4("cat", `${url}/hello.txt`);
      assert.equal(cat.code, 0, cat.stderr);
      assert.equal(cat.stdout, "hello from the binary\n");

      const local = join(work, "copy.txt");
      const down = await nfs4("cp", `${url}/hello.txt`, local);
      assert.equal(down.code, 0, down.stderr);
      assert.equal(readFileSync(local, "utf8"), "hello from the binary\n");
      const up = await nfs4("cp", local, `${url}/uploaded.txt`);
      assert.equal(up.code, 0, up.stderr);
      assert.equal(
        readFileSync(join(server.exportDir, "uploaded.txt"), "utf8"),
        "hello from the binary\n",
      );

      const locked = await nfs4("lock", `${url}/hello.txt`, "--", "sh", "-c", "exit 7");
      assert.equal(locked.code, 7, locked.stderr);
      const test = await nfs4("lock", "--test", `${url}/hello.txt`);
      assert.equal(test.code, 0, test.stderr);
      assert.match(test.stdout, /free/);

      const watch = await nfs4("renew-watch", "--open", "--duration", "1", `${url}/hello.txt`);
      assert.equal(watch.code, 0, watch.stderr);
      assert.match(watch.stdout, /^ok: /m);

      const restart = `${Deno.execPath()} run -A ${
        join(ROOT, "scripts/test_server.ts")
      } restart --dir ${server.dir}`;
      // On the export: the drill works on a file of its own there (hello.txt is not touched).
      const reboot = await nfs4("simulate-reboot", url, "--restart-cmd", restart);
      assert.equal(reboot.code, 0, reboot.stdout + reboot.stderr);
      assert.equal(
        readFileSync(join(server.exportDir, "hello.txt"), "utf8"),
        "hello from the binary\n",
      );
      assert.deepEqual(
        readdirSync(server.exportDir).filter((name) => name.startsWith(".nfs4-drill-")),
        [],
      );

      // The file commands of issue 16, each once, checked against the export's folder.
      const exp = server.exportDir;
      const ok = async (...args: string[]) => {
        const r = await nfs4(...args);
        assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
        return r;
      };
      assert.match(
        (await ok("stat", "-c", "%s %F", `${url}/hello.txt`)).stdout,
        /^22 regular file\n$/,
      );
      assert.match((await ok("df", url)).stdout, /^Filesystem/);
      await ok("mkdir", "-p", "-m", "750", `${url}/b/c`);
      assert.equal(statSync(join(exp, "b/c")).mode & 0o777, 0o750);
      await ok("touch", `${url}/b/c/t`);
      await ok("truncate", "-s", "5", `${url}/b/c/t`);
      assert.equal(statSync(join(exp, "b/c/t")).size, 5);
      await ok("chmod", "u=rw,go=", `${url}/b/c/t`);
      assert.equal(statSync(join(exp, "b/c/t")).mode & 0o777, 0o600);
      await ok("chown", "0:0", `${url}/b/c/t`);
      await ok("ln", "-s", "t", `${url}/b/c/s`);
      assert.equal(readlinkSync(join(exp, "b/c/s")), "t");
      await ok("ln", `${url}/b/c/t`, `${url}/b/c/h`);
      await ok("mv", `${url}/b/c/h`, `${url}/b/c/m`);
      assert.equal(statSync(join(exp, "b/c/m")).nlink, 2);
      assert.match((await ok("du", "-s", "--apparent-size", "-b", `${url}/b`)).stdout, /^\d+\t/);
      assert.equal((await ok("find", `${url}/b`, "-name", "m")).stdout, `${url}/b/c/m\n`);
      assert.equal((await ok("head", "-c", "5", `${url}/hello.txt`)).stdout, "hello");
      assert.equal(
        (await ok("tail", "-n", "1", `${url}/hello.txt`)).stdout,
        "hello from the binary\n",
      );
      await ok("rm", "-r", `${url}/b/c`);
      await ok("rmdir", `${url}/b`);
      assert.ok(!existsSync(join(exp, "b")));
      assert.match((await ok("info", url)).stdout, /^Session \(CREATE_SESSION\)$/m);
      const shell = await ok(
        "shell",
        url,
        "-c",
        "cd /vfs; cat hello.txt; lock -x hello.txt; state",
      );
      assert.match(shell.stdout, /^hello from the binary\n/);
      assert.match(shell.stdout, /^ {2}lock {6}write 0-/m);

      // The shell's line editor (node:readline) on a terminal, in the binary: Tab and history.
      const typed = "cd /v\t\rls\r\x1b[A\rexit\r";
      const terminal = await new Deno.Command("/usr/bin/script", {
        args: ["-qfec", `'${outfile}' shell '${url}'`, "/dev/null"],
        stdin: "piped",
        stdout: "piped",
        clearEnv: true,
        env: { PATH: path, TERM: "xterm", HOME: work },
      }).spawn();
      const keys = terminal.stdin.getWriter();
      for (const part of typed.split(/(?<=\r|\t)/)) {
        await keys.write(new TextEncoder().encode(part));
        await new Promise((r) => setTimeout(r, 400));
      }
      await keys.close();
      const screen = new TextDecoder().decode((await terminal.output()).stdout)
        // deno-lint-ignore no-control-regex
        .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r+\n/g, "\n");
      assert.match(screen, /> cd \/vfs\/\n/, screen);
      assert.equal(screen.match(/^hello\.txt {2}uploaded\.txt$/gm)?.length, 2, screen);

      const completions = await nfs4("completions", "bash");
      assert.equal(completions.code, 0, completions.stderr);
      assert.match(completions.stdout, /nfs4/);
    } finally {
      rmSync(work, { recursive: true, force: true });
      rmSync(path, { recursive: true, force: true });
    }
  },
  { leaseSeconds: 3, graceSeconds: 4 },
);

const SIZE = 40 << 20;

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let at = 0; at < length; at += 65_536) {
    crypto.getRandomValues(bytes.subarray(at, Math.min(length, at + 65_536)));
  }
  return bytes;
}

for (const vers of VERSIONS) {
  serverTest(`the binary's cat and cp of 40 MiB bring every byte (NFSv${vers})`, async (server) => {
    const data = randomBytes(SIZE);
    writeFileSync(join(server.exportDir, "big"), data);
    const nfs4 = binary();
    const url = `${server.url}/vfs/big`;
    const cat = await new Deno.Command(nfs4, {
      args: ["--vers", vers, "cat", url],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(cat.code, 0, new TextDecoder().decode(cat.stderr));
    assert.equal(cat.stdout.length, SIZE);
    assert.ok(Buffer.from(cat.stdout).equals(data), "cat's bytes are the file's");
    const local = join(dirname(nfs4), `big-${vers}`);
    try {
      const cp = await new Deno.Command(nfs4, {
        args: ["--vers", vers, "cp", url, local],
        stderr: "piped",
      }).output();
      assert.equal(cp.code, 0, new TextDecoder().decode(cp.stderr));
      assert.ok(readFileSync(local).equals(data), "cp's copy is the file");
    } finally {
      rmSync(local, { force: true });
    }
  });

  serverTest(
    `the binary's cat: SIGINT while a READ reply is held back ends it at once, state released (NFSv${vers})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "big"), randomBytes(SIZE));
      const nfs4 = binary();
      await using proxy = await FaultProxy.start({ target: server, log: () => {} });
      proxy.delayReply("READ", 5_000, { nth: 6 });
      const reading = startNfs4(
        ["--vers", vers, "--trace=json", "cat", `${proxy.url}/vfs/big`],
        {},
        { binary: nfs4, discardStdout: true },
      );
      try {
        for (let i = 0; i < 1_000 && proxy.opCount("READ") < 7; i++) await sleep(10);
        assert.ok(proxy.opCount("READ") >= 7, "READs past the held one were sent");
        await sleep(300);
        const signalledAt = performance.now();
        reading.kill("SIGINT");
        const ended = await reading.done;
        assert.equal(ended.code, 130, ended.stderr);
        assert.ok(
          ended.endedAt - signalledAt < 2_000,
          `exited ${Math.round(ended.endedAt - signalledAt)} ms after SIGINT`,
        );
        await assertClean(server, vers, ended.stderr, `${vers} binary cat, SIGINT`, {
          files: ["/vfs/big"],
        });
      } finally {
        reading.kill("SIGKILL"); // nothing once it has exited
      }
    },
  );
}

/** The NUL-separated strings of a /proc file such as `environ` or `cmdline`, as latin1 text. */
function procStrings(path: string): string[] {
  return Buffer.from(readFileSync(path)).toString("latin1").split("\0").slice(0, -1);
}

/** Polls `check` every 20 ms until it holds; false if `ms` pass first. */
async function eventually(check: () => boolean, ms = 10_000): Promise<boolean> {
  for (const end = performance.now() + ms; performance.now() < end; await sleep(20)) {
    try {
      if (check()) return true;
    } catch {
      // Not there yet (a /proc file read mid-execve): the last try says why.
    }
  }
  return check();
}

/** SIGKILL for a child that may have exited already. */
function killQuietly(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch {
    // gone
  }
}

serverTest(
  "the binary starts a tree command again without FTL, once, with its exact arguments, environment and descriptors",
  async (server) => {
    const nfs4 = binary();
    const url = `${server.url}/vfs`;
    const work = mkdtempSync(join(tmpdir(), "nfs4-restart-"));
    try {
      writeFileSync(join(server.exportDir, "hello.txt"), "hello\n");
      const fdSource = join(work, "through-fd-9");
      writeFileSync(fdSource, "read through an inherited descriptor\n");
      const bash = (
        script: string,
        args: string[],
        env: Record<string, string> = {},
        stdin: "piped" | "null" = "null",
      ) =>
        new Deno.Command("/bin/bash", {
          args: ["-c", script, "bash", ...args],
          stdin,
          stdout: "piped",
          stderr: "piped",
          clearEnv: true,
          env: { PATH: "/usr/bin:/bin", HOME: work, KEEP_ME: "a b\tc", ...env },
        });

      // A shell session (restarted): the process that runs it has FTL off
      // and is the one started, with its name, its arguments and environment
      // as given, fd 9 still open.
      const session = bash(
        'exec 9<"$1"; exec "$2" shell "$3" --keep-going',
        [fdSource, nfs4, url],
        {},
        "piped",
      ).spawn();
      try {
        const proc = `/proc/${session.pid}`;
        const marker = `NFS4_RESTARTED_WITHOUT_FTL=${session.pid}:${
          Buffer.from("nfs4").toString("hex")
        }`;
        const restarted = await eventually(() => procStrings(`${proc}/environ`).includes(marker));
        const env = procStrings(`${proc}/environ`);
        assert.ok(restarted, `restarted: ${env.join(" ")}`);
        assert.ok(env.includes("BUN_JSC_useFTLJIT=0"), env.join(" "));
        assert.ok(env.includes("KEEP_ME=a b\tc"), env.join(" "));
        assert.equal(env.filter((entry) => entry.startsWith("BUN_JSC_")).length, 1);
        assert.deepEqual(procStrings(`${proc}/cmdline`), [nfs4, "shell", url, "--keep-going"]);
        assert.equal(readlinkSync(`${proc}/fd/9`), fdSource);
        // Its name back (execve of /proc/self/exe called it "exe"): pkill nfs4 finds it.
        assert.ok(
          await eventually(() => readFileSync(`${proc}/comm`, "latin1") === "nfs4\n"),
          readFileSync(`${proc}/comm`, "latin1"),
        );
        await session.stdin.close();
        const sessionEnded = await session.output();
        assert.equal(sessionEnded.code, 0, new TextDecoder().decode(sessionEnded.stderr));
      } finally {
        killQuietly(session);
      }

      // cp -r through the restart: a source read through fd 9, a local name
      // that is not UTF-8; one error line for a missing source, not two.
      const copied = await bash(
        "mkdir \"$1\"/$'lat\\xe9in' && echo in > \"$1\"/$'lat\\xe9in'/f && " +
          'exec 9<"$2"; exec "$3" cp -rL /dev/fd/9 "$1"/$\'lat\\xe9in\' "$1/missing" "$4/"',
        [work, fdSource, nfs4, url],
      ).output();
      const stderr = new TextDecoder().decode(copied.stderr);
      assert.equal(copied.code, 1, stderr);
      assert.equal(stderr.match(/missing/g)?.length, 1, stderr);
      assert.equal(
        readFileSync(join(server.exportDir, "9"), "utf8"),
        "read through an inherited descriptor\n",
      );
      const check = await bash('test "$(cat "$1"/$\'lat\\xe9in\'/f)" = in', [server.exportDir])
        .output();
      assert.equal(check.code, 0, "the non-UTF-8 directory arrived with its file");

      // Not restarted: a command that is not a tree's, and any whose
      // environment names BUN_JSC_useFTLJIT already.
      const lock = await bash(
        'exec "$1" lock "$2/hello.txt" -- sh -c \'cat /proc/$PPID/environ\'',
        [
          nfs4,
          url,
        ],
      ).output();
      assert.equal(lock.code, 0, new TextDecoder().decode(lock.stderr));
      assert.doesNotMatch(new TextDecoder().decode(lock.stdout), /BUN_JSC|NFS4_RESTARTED/);
      const own = bash('exec "$1" shell "$2"', [nfs4, url], { BUN_JSC_useFTLJIT: "1" }, "piped")
        .spawn();
      try {
        const writer = own.stdin.getWriter();
        await writer.write(new TextEncoder().encode("cat hello.txt\n"));
        const reader = own.stdout.getReader();
        let said = "";
        const deadline = setTimeout(() => killQuietly(own), 15_000);
        while (!said.includes("hello\n")) {
          const { value, done } = await reader.read();
          if (done) break;
          said += new TextDecoder().decode(value);
        }
        clearTimeout(deadline);
        assert.equal(said, "hello\n");
        // Its first command has run: a restart would have come before it.
        const ownEnv = procStrings(`/proc/${own.pid}/environ`);
        assert.ok(!ownEnv.some((entry) => entry.startsWith("NFS4_RESTARTED")), ownEnv.join(" "));
        assert.ok(ownEnv.includes("BUN_JSC_useFTLJIT=1"), ownEnv.join(" "));
        await writer.close();
        reader.releaseLock();
        await own.stdout.cancel();
        await own.stderr.cancel();
        assert.equal((await own.status).code, 0);
      } finally {
        killQuietly(own);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
);

serverTest(
  "the binary started with stdin or stdout closed fails with EBADF: `cp - URL <&-` leaves the destination as it was, `cat URL >&-` exits 1 (coreutils' cat says the same), where the runtime's /dev/null made an empty copy and a thrown-away cat, exit 0",
  async (server) => {
    writeFileSync(join(server.exportDir, "keep"), "important data\n");
    const nfs4 = binary();
    const run = async (script: string, url: string) => {
      const out = await new Deno.Command("sh", {
        args: ["-c", script, nfs4, url],
        stdout: "null",
        stderr: "piped",
      }).output();
      return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
    };
    const url = `${server.url}/vfs/keep`;
    const cp = await run('"$0" cp - "$1" <&-', url);
    assert.equal(cp.code, 1, cp.stderr);
    assert.equal(cp.stderr, "nfs4: -: Bad file descriptor\n");
    assert.equal(readFileSync(join(server.exportDir, "keep"), "utf8"), "important data\n");
    assert.deepEqual(
      readdirSync(server.exportDir).filter((n) => n.includes(".nfs4-")),
      [],
      "no temporary left",
    );
    const cat = await run('"$0" cat "$1" >&-', url);
    assert.equal(cat.code, 1, cat.stderr);
    assert.equal(cat.stderr, "nfs4: write error: Bad file descriptor\n");
    // With them open, as ever.
    const ok = await run('"$0" cat "$1" > /dev/null', url);
    assert.equal(ok.code, 0, ok.stderr);
  },
);
