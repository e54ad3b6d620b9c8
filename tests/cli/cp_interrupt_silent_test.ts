/**
 * `nfs4 cp` up and `nfs4 mv` local→NFS stopped by SIGINT while the server
 * has stopped answering (the fault proxy goes silent once the copy's WRITEs
 * are under way): the temporary's REMOVE gets no answer in the 1.5 s
 * release window, so the temporary stays on the server. The command still
 * exits 130 within the window (and the process's end), and names it on one
 * line first, as the `--timeout` case does (README `cp`: "its temporary is
 * removed, or named in the error when it could not be"). Before, both
 * exited 130 and printed nothing, the temporary left unmentioned.
 *
 * A second SIGINT exits at once, before any answer could come: the line
 * is printed then, as the process exits, saying its removal got no answer.
 *
 * mv's temporary is one name, `.NAME.nfs4-XXXXXX`: a file is copied to it
 * directly, not to a temporary of the copy's own beside it (which showed as
 * `..NAME.nfs4-XXXXXX.nfs4-YYYYYY`).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { serverTest, type TestServer } from "../_server.ts";
import { runNfs4, startProxy, until, VERSIONS } from "./_faults.ts";
import { tempDir, writeRandom } from "./_cp.ts";
import { messageLines, ROOT } from "./_spawn.ts";

const SIZE = 64 << 20;

/** The temporaries of `name` (`.NAME.nfs4-XXXXXX`, and nothing longer) in the export's root. */
function temporaries(server: TestServer, name: string): string[] {
  const pattern = new RegExp(`^\\.${name.replaceAll(".", "\\.")}\\.nfs4-\\w{6}$`);
  return [...Deno.readDirSync(server.exportDir)].map((e) => e.name).filter((n) => pattern.test(n));
}

/** Every `.nfs4-` name in the export's root (a temporary of a temporary included). */
function anyTemporaries(server: TestServer): string[] {
  return [...Deno.readDirSync(server.exportDir)].map((e) => e.name).filter((n) =>
    n.includes(".nfs4-")
  );
}

function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Runs `nfs4 --vers VERS ARGS` through a proxy that goes silent at the
 * first WRITE, and SIGINTs it 500 ms after that.
 */
async function interruptedSilent(
  server: TestServer,
  vers: string,
  args: (vfs: string) => string[],
) {
  await using f = await startProxy(server);
  let signal!: () => void;
  const signalled = new Promise<void>((resolve) => signal = resolve);
  const running = runNfs4(["--vers", vers, ...args(f.vfs)], {
    signal: "SIGINT",
    signalWhen: signalled,
    killAfterMs: 60_000,
  });
  // Silent at once: the copy cannot end before the signal (its temporary
  // is made: the WRITE goes through the open the OPEN's answer gave).
  await until(() => f.proxy.opCount("WRITE") > 0, "the first WRITE");
  f.proxy.setMode("silent");
  await new Promise((resolve) => setTimeout(resolve, 500));
  signal();
  const r = await running;
  return { r, vfs: f.vfs };
}

for (const vers of VERSIONS) {
  serverTest(
    `nfs4 cp up (NFSv${vers}) SIGINT while the server is silent: exit 130, one line ` +
      "naming the temporary left on the server",
    async (server) => {
      const local = await tempDir("nfs4-cp-silent-");
      try {
        await writeRandom(join(local, "s_up.bin"), SIZE);
        const { r, vfs } = await interruptedSilent(
          server,
          vers,
          (vfs) => ["cp", join(local, "s_up.bin"), `${vfs}/s_up.bin`],
        );
        assert.equal(r.code, 130, r.stderr);
        assert.ok(
          r.msAfterSignal !== undefined && r.msAfterSignal < 2500,
          `exit ${r.msAfterSignal} ms after SIGINT`,
        );
        const left = temporaries(server, "s_up.bin");
        assert.equal(left.length, 1, "the temporary is on the server");
        assert.deepEqual(anyTemporaries(server), left);
        const lines = messageLines(r.stderr);
        assert.equal(lines.length, 1, r.stderr);
        assert.match(
          lines[0]!,
          new RegExp(
            `^nfs4: ${escaped(vfs)}/s_up\\.bin: interrupted by SIGINT; its temporary ` +
              `${escaped(vfs)}/${escaped(left[0]!)} may be left on the server ` +
              `\\(not removed: .+\\)$`,
          ),
        );
        assert.throws(() => Deno.statSync(join(server.exportDir, "s_up.bin")));
      } finally {
        await Deno.remove(local, { recursive: true });
      }
    },
  );

  serverTest(
    `nfs4 mv local→NFS (NFSv${vers}) SIGINT while the server is silent: exit 130, the ` +
      "source kept, one line naming the one temporary left on the server",
    async (server) => {
      const local = await tempDir("nfs4-mv-silent-");
      try {
        const source = join(local, "mvl.bin");
        await writeRandom(source, SIZE);
        const { r, vfs } = await interruptedSilent(
          server,
          vers,
          (vfs) => ["mv", source, `${vfs}/mvl.bin`],
        );
        assert.equal(r.code, 130, r.stderr);
        assert.ok(
          r.msAfterSignal !== undefined && r.msAfterSignal < 2500,
          `exit ${r.msAfterSignal} ms after SIGINT`,
        );
        assert.equal(Deno.statSync(source).size, SIZE, "the source is kept");
        const lines = messageLines(r.stderr);
        assert.equal(lines.length, 1, r.stderr);
        const left = temporaries(server, "mvl.bin");
        assert.equal(left.length, 1, "the temporary is on the server");
        assert.deepEqual(anyTemporaries(server), left, "one temporary, not one of another");
        assert.match(
          lines[0]!,
          new RegExp(
            `^nfs4: cannot move '${escaped(source)}' to '${escaped(vfs)}/mvl\\.bin': ` +
              `interrupted by SIGINT; '${escaped(source)}' is kept; its temporary ` +
              `'${escaped(vfs)}/${escaped(left[0]!)}' may be left on the server ` +
              `\\(not removed: .+\\)$`,
          ),
        );
        assert.throws(() => Deno.statSync(join(server.exportDir, "mvl.bin")));
      } finally {
        await Deno.remove(local, { recursive: true });
      }
    },
  );
}

for (const vers of VERSIONS) {
  for (const command of ["cp", "mv"] as const) {
    serverTest(
      `nfs4 ${command} up (NFSv${vers}) SIGINT twice while the server is silent: exit 130 at ` +
        "the second, one line naming the temporary first",
      async (server) => {
        const local = await tempDir("nfs4-cp-twice-");
        try {
          const source = join(local, "twice.bin");
          await writeRandom(source, SIZE);
          await using f = await startProxy(server);
          const child = new Deno.Command(Deno.execPath(), {
            args: ["run", "-A", "cli/main.ts", "--vers", vers, command, source, `${f.vfs}/t.bin`],
            cwd: ROOT,
            stdin: "null",
            stdout: "null",
            stderr: "piped",
            env: { NO_COLOR: "1" },
          }).spawn();
          const output = child.output();
          await until(() => f.proxy.opCount("WRITE") > 0, "the first WRITE");
          f.proxy.setMode("silent");
          await new Promise((resolve) => setTimeout(resolve, 500));
          child.kill("SIGINT");
          await new Promise((resolve) => setTimeout(resolve, 300));
          const second = performance.now();
          child.kill("SIGINT");
          const r = await output;
          const ms = performance.now() - second;
          const stderr = new TextDecoder().decode(r.stderr);
          assert.equal(r.code, 130, stderr);
          assert.ok(ms < 1000, `exit ${Math.round(ms)} ms after the second SIGINT`);
          assert.equal(messageLines(stderr).length, 1, stderr);
          const left = temporaries(server, "t.bin");
          assert.equal(left.length, 1, "the temporary is on the server");
          const temporary = `${escaped(f.vfs)}/${escaped(left[0]!)}`;
          const tail = "may be left on the server \\(not removed: no answer before the exit\\)$";
          assert.match(
            messageLines(stderr).join("\n"),
            new RegExp(
              command === "cp"
                ? `^nfs4: ${escaped(f.vfs)}/t\\.bin: interrupted by SIGINT; its temporary ` +
                  `${temporary} ${tail}`
                : `^nfs4: cannot move '${escaped(source)}' to '${escaped(f.vfs)}/t\\.bin': ` +
                  `interrupted by SIGINT; '${escaped(source)}' is kept; its temporary ` +
                  `'${temporary}' ${tail}`,
            ),
          );
        } finally {
          await Deno.remove(local, { recursive: true });
        }
      },
    );
  }
}
