/**
 * `nfs4 shell` on a terminal that goes away or is suspended, the test
 * holding the terminal's other side (tests/cli/_pty.ts openTerminal), in the
 * single binary (Bun) and under Deno, against NFS-Ganesha:
 *
 * - the terminal closes (the window closed, ssh dropped: SIGHUP, reads
 *   end): the shell releases what it holds (RFC 7530 §9.1.4 / RFC 8881
 *   §8.3: a lock left would stay held as long as the lease is renewed) and
 *   ends 129, at the prompt and while a verb runs;
 * - Ctrl-Z then the shell continued (`fg`) under an interactive bash: it
 *   reads and runs lines again, and a verb Ctrl-Z stopped goes on with no
 *   prompt drawn into it; with no job-control shell above it Ctrl-Z does
 *   nothing (the kernel would discard the stop);
 *
 * and, with no terminal, what the shell tells with the trace off (an OPEN
 * and CLOSE of `bad.txt` are routine), and `state`'s usage.
 */

import assert from "node:assert/strict";
import { serverTest } from "../_server.ts";
import { tempDir } from "./_cp.ts";
import { hasSetsid, openTerminal, type Terminal } from "./_pty.ts";
import { builtBinary } from "./_binary.ts";
import { holdingLine, nfs4, startNfs4 } from "./_lock.ts";

/** How each runtime runs `nfs4 ...args`: the single binary, and Deno on cli/main.ts. */
const DENO = (): [string, string[]] => [Deno.execPath(), ["run", "-A", "cli/main.ts"]];
const RUNTIMES: readonly (readonly [string, () => [string, string[]]])[] = [
  ["single binary", () => [builtBinary(), []]],
  ["deno", DENO],
];

/** `nfs4 ...args` on a new terminal, in `runtime`. */
function shellOnTerminal(runtime: () => [string, string[]], args: string[], home: string) {
  const [command, before] = runtime();
  return openTerminal(command, [...before, ...args], { XDG_STATE_HOME: home, HOME: home });
}

/**
 * `nfs4 ...args` as a job of an interactive bash on a new terminal, which
 * continues it in the foreground (`fg`) as soon as it stops: what a user's
 * Ctrl-Z then `fg` does, with a job-control shell as nfs4's parent (in
 * another process group of its session; without one the kernel discards
 * the stop, see below).
 */
function shellUnderJobControl(runtime: () => [string, string[]], args: string[], home: string) {
  const [command, before] = runtime();
  const line = [command, ...before, ...args].map((word) => `'${word}'`).join(" ");
  return openTerminal("bash", ["--norc", "-i", "-c", `${line}; fg`], {
    XDG_STATE_HOME: home,
    HOME: home,
  });
}

/**
 * The terminal's command's exit status; undefined, the command killed, if
 * it has not ended within a minute (a guard against a hang, not a timing).
 */
async function ended(terminal: Terminal): Promise<Deno.CommandStatus | undefined> {
  const status = await Promise.race([
    terminal.status,
    new Promise<undefined>((r) => setTimeout(r, 60_000, undefined)),
  ]);
  if (status === undefined) Deno.kill(terminal.pid, "SIGKILL");
  return status;
}

/** `nfs4 shell URL` on a new terminal, at its prompt, holding an exclusive lock on held.txt. */
async function shellHoldingLock(
  runtime: () => [string, string[]],
  url: string,
  home: string,
): Promise<Terminal> {
  const terminal = shellOnTerminal(runtime, ["--vers", "4.1", "shell", url], home);
  await terminal.waitFor(/\/vfs> $/);
  terminal.type("lock -x held.txt\r");
  const typed = terminal.text().length;
  await terminal.waitFor(/\/vfs> $/, typed);
  return terminal;
}

/** Whether the whole of `url` is free of locks (LOCKT from another client). */
async function free(url: string): Promise<string> {
  const test = await nfs4(["lock", "--test", url]);
  return test.stdout + test.stderr;
}

for (const [name, runtime] of RUNTIMES) {
  serverTest(
    `${name}: shell whose terminal closes at the prompt releases its lock and ends 129 (RFC 8881 §8.3)`,
    async (server) => {
      await Deno.writeTextFile(`${server.exportDir}/held.txt`, "x\n");
      const home = await tempDir("nfs4-shell-hangup-");
      const url = `${server.url}/vfs`;
      const terminal = await shellHoldingLock(runtime, url, home);
      assert.match(await free(`${url}/held.txt`), /locked/);
      await terminal.hangUp();
      const status = await ended(terminal);
      assert.equal(status?.code, 129, terminal.text());
      assert.match(await free(`${url}/held.txt`), /free/);
    },
    { ignore: !hasSetsid },
  );

  serverTest(
    `${name}: shell whose terminal closes while cat runs releases its lock and ends 129`,
    async (server) => {
      await Deno.writeTextFile(`${server.exportDir}/held.txt`, "x\n");
      const lines = Array.from({ length: 2_000_000 }, (_, i) => `${i}\n`).join("");
      await Deno.writeTextFile(`${server.exportDir}/big.txt`, lines);
      const home = await tempDir("nfs4-shell-hangup-verb-");
      const url = `${server.url}/vfs`;
      const terminal = await shellHoldingLock(runtime, url, home);
      terminal.type("cat big.txt\r");
      // cat is running: its output is coming.
      await terminal.waitFor(/\n100000\n/);
      await terminal.hangUp();
      const status = await ended(terminal);
      assert.equal(status?.code, 129);
      assert.match(await free(`${url}/held.txt`), /free/);
    },
    { ignore: !hasSetsid },
  );

  serverTest(
    `${name}: shell after Ctrl-Z and continue (fg) reads and runs lines again`,
    async (server) => {
      const home = await tempDir("nfs4-shell-ctrlz-");
      const url = `${server.url}/vfs`;
      const terminal = shellUnderJobControl(runtime, ["--vers", "4.1", "shell", url], home);
      await terminal.waitFor(/\/vfs> $/);
      const typed = terminal.text().length;
      terminal.type("\x1a");
      // Stopped (bash says so), then continued by bash's fg, which names it.
      await terminal.waitFor(/Stopped/, typed);
      await terminal.waitForRaw(true);
      await terminal.waitFor(/\/vfs> $/, typed);
      const before = terminal.text().length;
      terminal.type("pwd\r");
      await terminal.waitFor(/\n\/vfs\n/, before);
      terminal.type("exit\r");
      const status = await ended(terminal);
      assert.equal(status?.code, 0, terminal.text());
    },
    { ignore: !hasSetsid },
  );

  serverTest(
    `${name}: shell after Ctrl-Z during a verb and continue draws no prompt until the verb ends`,
    async (server) => {
      await Deno.writeTextFile(`${server.exportDir}/busy.txt`, "x\n");
      const home = await tempDir("nfs4-shell-ctrlz-verb-");
      const url = `${server.url}/vfs`;
      const holder = startNfs4(["--vers", "4.1", "lock", "-x", `${url}/busy.txt`]);
      try {
        await holder.waitFor("stderr", holdingLine(`${url}/busy.txt`, "exclusive", "0-"), 60_000);
        const terminal = shellUnderJobControl(runtime, ["--vers", "4.1", "shell", url], home);
        await terminal.waitFor(/\/vfs> $/);
        terminal.type("lock -w 300 busy.txt\r");
        // The verb is waiting for the lock.
        await terminal.waitFor(/> lock -w 300 busy\.txt\n\* waiting: /);
        const during = terminal.text().length;
        terminal.type("\x1a");
        // Stopped, then continued by bash's fg.
        await terminal.waitFor(/Stopped/, during);
        await terminal.waitForRaw(true);
        // The wait goes on; the holder lets go, the lock is granted.
        holder.kill("SIGTERM");
        await holder.done;
        await terminal.waitFor(/\/vfs> $/, during);
        terminal.type("exit\r");
        const status = await ended(terminal);
        assert.equal(status?.code, 0, terminal.text());
        // One prompt after the verb: the one when it ended, none drawn into it.
        const after = terminal.text().slice(during);
        assert.equal(after.match(/\/vfs> /g)?.length, 1, after);
      } finally {
        holder.kill("SIGKILL");
        await holder.done;
      }
    },
    { ignore: !hasSetsid },
  );

  serverTest(
    `${name}: shell with no job-control shell above it (its group orphaned: ssh -t host nfs4 shell) ` +
      `takes Ctrl-Z as nothing, the terminal left raw, not cooked with every key echoed twice`,
    async (server) => {
      const home = await tempDir("nfs4-shell-ctrlz-orphan-");
      const url = `${server.url}/vfs`;
      const terminal = shellOnTerminal(runtime, ["--vers", "4.1", "shell", url], home);
      await terminal.waitFor(/\/vfs> $/);
      terminal.type("\x1a");
      const before = terminal.text().length;
      terminal.type("pwd\r");
      await terminal.waitFor(/\n\/vfs\n/, before);
      assert.equal(terminal.text().slice(before).match(/pwd/g)?.length, 1, terminal.text());
      terminal.type("exit\r");
      const status = await ended(terminal);
      assert.equal(status?.code, 0, terminal.text());
    },
    { ignore: !hasSetsid },
  );
}

serverTest(
  "shell with the trace off does not tell an OPEN and CLOSE of bad.txt (routine, not lost state)",
  async (server) => {
    await Deno.writeTextFile(`${server.exportDir}/bad.txt`, "x\n");
    await Deno.writeTextFile(`${server.exportDir}/lost+found.reclaim`, "x\n");
    const ended = await nfs4([
      "--vers",
      "4.1",
      "shell",
      `${server.url}/vfs`,
      "-c",
      "cat bad.txt; cat lost+found.reclaim; open bad.txt read; close bad.txt",
    ]);
    assert.equal(ended.code, 0, ended.stderr);
    assert.equal(ended.stdout, "x\nx\n");
    assert.doesNotMatch(ended.stderr, /^\* /m, ended.stderr);
  },
);

serverTest(
  "shell: state with an unknown option or an operand is a usage error (status 2)",
  async (server) => {
    for (const args of ["--bogus", "foo"]) {
      const ended = await nfs4(["shell", `${server.url}/vfs`, "-c", `state ${args}`]);
      assert.equal(ended.code, 2, ended.stderr);
      assert.match(ended.stderr, /state: .*\(usage: state \[--json\]\)/, ended.stderr);
      assert.equal(ended.stdout, "");
    }
    const json = await nfs4(["shell", `${server.url}/vfs`, "-c", "state --json"]);
    assert.equal(json.code, 0, json.stderr);
    assert.ok(JSON.parse(json.stdout).clientId);
  },
);

serverTest(
  "shell: Ctrl-C of cat says 'interrupted by SIGINT' as get and lock do, and the shell stays",
  async (server) => {
    const lines = Array.from({ length: 2_000_000 }, (_, i) => `${i}\n`).join("");
    await Deno.writeTextFile(`${server.exportDir}/big.txt`, lines);
    const home = await tempDir("nfs4-shell-cat-intr-");
    const url = `${server.url}/vfs`;
    const terminal = shellOnTerminal(DENO, ["--vers", "4.1", "shell", url], home);
    await terminal.waitFor(/\/vfs> $/);
    terminal.type("cat big.txt\r");
    await terminal.waitFor(/\n100000\n/);
    const before = terminal.text().length;
    terminal.type("\x03");
    await terminal.waitFor(/\^C\n[^]*nfs4: interrupted by SIGINT\n[^]*\/vfs> $/, before);
    terminal.type("exit\r");
    const status = await ended(terminal);
    assert.equal(status?.code, 130, terminal.text().slice(before));
  },
  { ignore: !hasSetsid },
);
