/**
 * `source <(nfs4 completions bash)` in a real bash, with and without the
 * bash-completion package: TAB completes without "command not found",
 * sourcing it again prints nothing, and a word that may name a local file
 * (cp and mv operands, `--pcap FILE`, lock's COMMAND) is left to file name
 * completion (`compopt -o default`) where `nfs4 complete` offers nothing.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { nfs4, ROOT } from "./_spawn.ts";

const BASH_COMPLETION = "/usr/share/bash-completion/bash_completion";

/** A directory holding an `nfs4` that runs cli/main.ts, for the script to call. */
async function nfs4OnPath(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "nfs4-compl-" });
  const bin = join(dir, "nfs4");
  await Deno.writeTextFile(
    bin,
    `#!/bin/sh\nexec '${Deno.execPath()}' run -A '${join(ROOT, "cli/main.ts")}' "$@"\n`,
  );
  await Deno.chmod(bin, 0o755);
  return dir;
}

/**
 * Runs `lines` (each `LINE` completed at its end, as TAB would) in
 * `bash --norc` after sourcing the script twice; returns what each
 * completion put in COMPREPLY and what `compopt` was asked, and stderr.
 */
async function complete(
  lines: readonly string[],
  withBashCompletion: boolean,
): Promise<{ replies: string[]; stderr: string; code: number }> {
  const script = await nfs4(["completions", "bash"]);
  assert.equal(script.code, 0, script.stderr);
  const dir = await nfs4OnPath();
  try {
    const file = join(dir, "nfs4.bash");
    await Deno.writeTextFile(file, script.stdout);
    const program = [
      withBashCompletion ? `source ${BASH_COMPLETION}` : "",
      `source ${file}`,
      `source ${file}`,
      // Outside a TAB, compopt would fail: it is recorded instead.
      `compopt() { opts+=" $*"; }`,
      // COMP_WORDS as bash splits them (':' and '=' are word breaks).
      `t() {`,
      `  local opts=""`,
      `  COMP_LINE=$1 COMP_POINT=\${#1}`,
      `  local line=\${1//=/ = }; line=\${line//:/ : }`,
      `  read -ra COMP_WORDS <<<"$line"`,
      `  [[ $1 == *[\\ =:] ]] && [[ $1 != *[=:] ]] && COMP_WORDS+=("")`,
      `  COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); COMPREPLY=()`,
      `  __nfs4_complete`,
      `  echo "[\${COMPREPLY[*]}]$opts"`,
      `}`,
      ...lines.map((l) => `t '${l}'`),
    ].join("\n");
    const out = await new Deno.Command("bash", {
      args: ["--norc", "--noprofile", "-c", program],
      env: { PATH: `${dir}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}` },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder();
    return {
      replies: text.decode(out.stdout).split("\n").filter((l) => l !== ""),
      stderr: text.decode(out.stderr),
      code: out.code,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

for (const withBashCompletion of [false, true]) {
  Deno.test({
    name: `nfs4 completions bash completes ${
      withBashCompletion ? "with" : "without"
    } the bash-completion package and can be sourced twice`,
    ignore: withBashCompletion && !existsSync(BASH_COMPLETION),
    fn: async () => {
      const r = await complete(
        [
          "nfs4 re",
          "nfs4 --vers 4",
          "nfs4 --vers=4",
          "nfs4 ls --h",
          "nfs4 cp /tmp/x",
          "nfs4 ls ",
          "nfs4 --pcap ",
        ],
        withBashCompletion,
      );
      assert.equal(r.stderr, "");
      assert.equal(r.code, 0);
      assert.deepEqual(r.replies, [
        "[renew-watch]",
        "[4.0 4.1 4.2]",
        "[4.0 4.1 4.2]",
        "[--human-readable --hide-control-chars --help]",
        // Nothing of nfs4's own: the file names are readline's.
        "[] -o default",
        "[]",
        "[] -o default",
      ]);
    },
  });
}

Deno.test("nfs4 completions bash declares no readonly variable", async () => {
  const r = await nfs4(["completions", "bash"]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /readonly|_get_comp_words_by_ref|\beval\b/);
});

Deno.test("nfs4 complete -- lets the shell complete local file names where a word may be one", async () => {
  const directive = async (...words: string[]) => {
    const r = await nfs4(["complete", "--", ...words]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trimEnd().split("\n").at(-1);
  };
  // 0: the shell's own file names; 4: none.
  assert.equal(await directive("cp", ""), ":0");
  assert.equal(await directive("mv", "-v", "a", ""), ":0");
  assert.equal(await directive("--pcap", ""), ":0");
  assert.equal(await directive("--trace-file=/tmp/t"), ":0");
  assert.equal(await directive("lock", "nfs://h/e/f", "--", ""), ":0");
  assert.equal(await directive("ls", ""), ":4");
  assert.equal(await directive("lock", ""), ":4");
  assert.equal(await directive("lock", "-w", ""), ":4");
});

Deno.test("nfs4 complete -- offers '-' the long options too", async () => {
  const r = await nfs4(["complete", "--", "shell", "-"]);
  assert.equal(r.code, 0, r.stderr);
  const names = r.stdout.split("\n").map((l) => l.split("\t")[0]);
  assert.ok(names.includes("-c") && names.includes("--keep-going"), r.stdout);
});
