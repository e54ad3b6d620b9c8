/**
 * parseModeSpec() and applyModeSpec() against GNU chmod itself: every case
 * is run by the real `chmod` on a real file or directory (in batches, one
 * shell per batch), and the mode it leaves is the expected answer.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  adjustMode,
  applyModeSpec,
  octalMode,
  parseModeSpec,
  permissionString,
} from "../../lib/client/mode.ts";
import { UsageError } from "../../lib/client/url.ts";

interface Case {
  readonly spec: string;
  readonly old: number;
  readonly dir: boolean;
  readonly umask: number;
}

/**
 * What GNU chmod makes of each case: the new mode (07777), or "invalid"
 * when it refuses the mode argument. Cases that share a spec and a umask
 * go to one `chmod` run on as many files and directories, each first given
 * its old mode by chmod(2) (no process per case).
 */
async function gnuChmod(cases: readonly Case[]): Promise<(number | "invalid")[]> {
  const root = await Deno.makeTempDir({ prefix: "nfs4-mode-" });
  try {
    const groups = new Map<string, number[]>();
    cases.forEach((c, i) => {
      const key = `${c.umask}\0${c.spec}`;
      groups.set(key, [...groups.get(key) ?? [], i]);
    });
    const results: (number | "invalid")[] = new Array(cases.length);
    let n = 0;
    for (const indexes of groups.values()) {
      const first = cases[indexes[0]!]!;
      const targets = indexes.map(() => `${root}/${n++}`);
      for (const [k, i] of indexes.entries()) {
        const c = cases[i]!;
        if (c.dir) await Deno.mkdir(targets[k]!);
        else await Deno.writeFile(targets[k]!, new Uint8Array());
        await Deno.chmod(targets[k]!, c.old);
      }
      const umask = first.umask.toString(8).padStart(3, "0");
      const out = await new Deno.Command("sh", {
        args: ["-c", `umask ${umask} && exec chmod -- "$@"`, "sh", first.spec, ...targets],
        env: { LC_ALL: "C" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      if (out.code !== 0) {
        assert.match(stderr, /^chmod: invalid mode/, `chmod -- ${first.spec}: ${stderr}`);
        for (const i of indexes) results[i] = "invalid";
      } else {
        for (const [k, i] of indexes.entries()) {
          results[i] = (await Deno.stat(targets[k]!)).mode! & 0o7777;
        }
      }
    }
    return results;
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function ours(c: Case): number | "invalid" {
  let spec;
  try {
    spec = parseModeSpec(c.spec);
  } catch (e) {
    assert.ok(e instanceof UsageError, `${c.spec}: ${e}`);
    assert.equal(e.message, `invalid mode: '${c.spec}'`);
    return "invalid";
  }
  return applyModeSpec(spec, c.old, c.dir, c.umask);
}

const show = (v: number | "invalid") => typeof v === "number" ? octalMode(v) : v;

async function compareWithGnu(cases: readonly Case[]): Promise<void> {
  const expected = await gnuChmod(cases);
  const wrong: string[] = [];
  cases.forEach((c, i) => {
    const got = ours(c);
    if (got !== expected[i]) {
      wrong.push(
        `chmod ${c.spec} on ${c.dir ? "a directory" : "a file"} ${octalMode(c.old)} ` +
          `(umask ${octalMode(c.umask)}): GNU ${show(expected[i]!)}, ours ${show(got)}`,
      );
    }
  });
  assert.deepEqual(wrong, [], `${wrong.length} of ${cases.length} differ`);
}

/** Specs covering every rule of modechange.c (valid and not). */
const SPECS = [
  // octal, short and long
  "0",
  "7",
  "644",
  "755",
  "0644",
  "0755",
  "1777",
  "2755",
  "4755",
  "6755",
  "7777",
  "00755",
  "02755",
  "000644",
  "0000000755",
  "17777",
  "10000",
  "8",
  "0648",
  "755x",
  "-755",
  // who and op
  "u+x",
  "g+x",
  "o+x",
  "a+x",
  "+x",
  "ug+rw",
  "go-w",
  "a-rwx",
  "=",
  "u=",
  "a=",
  "+",
  "-",
  "u=rwx,g=rx,o=",
  "u=rw,go=r",
  "=r",
  "=rw",
  "=rwx",
  "-w",
  "+w",
  "-r",
  "+r",
  "-x",
  "uu+x",
  "ugoa+r",
  "ag-w",
  // X
  "+X",
  "a+X",
  "u+X",
  "go+X",
  "=X",
  "a=rX",
  "u=rwX,go=rX",
  "-X",
  "a-X",
  "+rX",
  // s and t
  "u+s",
  "g+s",
  "o+s",
  "+s",
  "a+s",
  "u-s",
  "g-s",
  "-s",
  "=s",
  "u=s",
  "+t",
  "o+t",
  "a+t",
  "u+t",
  "-t",
  "o-t",
  "=t",
  "+st",
  "a+st",
  "ug+s",
  "g=s",
  "u=rwxs",
  "g=rxs",
  "o=t",
  // copy
  "g=u",
  "o=u",
  "u=g",
  "a=u",
  "go=u",
  "u+g",
  "g-o",
  "o+g",
  "=u",
  "+o",
  "-g",
  "g=u,o=g",
  "u=go",
  "g+u,o-u",
  // several operators and clauses
  "u+x-w",
  "u=rw+x",
  "a=r+w-x",
  "u+x,g-w",
  "u+x,,g-w",
  "a+r,u+w,go-w",
  "+r-w+x",
  "=,+x",
  "u=r,g=u,o=g",
  "=755",
  "+644",
  "-111",
  "=0",
  "u=755",
  "=755,u+s",
  "+1",
  "=7777",
  "=17777",
  "=755x",
  "a=,u=rwx",
  "u-rwx,g+rwx",
  // invalid
  "",
  ",",
  "u",
  "x",
  "u+x,",
  ",u+x",
  "u+y",
  "z+x",
  "u+x+",
  "U+x",
  "u+X,",
  "u*x",
  "u+ x",
  " u+x",
  "u+rw x",
  "+9",
  "ug",
  "a=rwx,",
  "=u+g",
  "g=ux",
];

const OLD_MODES = [
  0o000,
  0o644,
  0o755,
  0o600,
  0o4755,
  0o2750,
  0o1777,
  0o7000,
  0o111,
  0o070,
  0o6711,
];
const UMASKS = [0o022, 0o000, 0o077, 0o027, 0o777];

Deno.test("applyModeSpec() matches GNU chmod for a table of specs, modes and umasks", async () => {
  const cases: Case[] = [];
  for (const spec of SPECS) {
    for (const old of OLD_MODES) {
      for (const dir of [false, true]) {
        for (const umask of UMASKS) cases.push({ spec, old, dir, umask });
      }
    }
  }
  await compareWithGnu(cases);
});

const who = fc.stringMatching(/^[ugoa]{0,3}$/);
const perms = fc.oneof(
  fc.stringMatching(/^[rwxXst]{0,4}$/),
  fc.constantFrom("u", "g", "o"),
  fc.integer({ min: 0, max: 0o7777 }).map((n) => n.toString(8)),
);
const clause = fc.tuple(
  who,
  fc.array(fc.tuple(fc.constantFrom("+", "-", "="), perms), {
    minLength: 1,
    maxLength: 3,
  }),
).map(([w, ops]) => w + ops.map(([op, p]) => op + p).join(""));
const symbolic = fc.array(clause, { minLength: 1, maxLength: 3 }).map((c) => c.join(","));
const anyMode = fc.oneof(
  { weight: 6, arbitrary: symbolic },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0o17777 }).map((n) => n.toString(8)) },
  { weight: 1, arbitrary: fc.stringMatching(/^0{0,3}[0-7]{1,4}$/) },
  // Near misses: any string over the alphabet of modes.
  { weight: 2, arbitrary: fc.stringMatching(/^[ugoarwxXst+=,0-9-]{0,8}$/) },
);
const arbitraryCase: fc.Arbitrary<Case> = fc.record({
  spec: anyMode,
  old: fc.integer({ min: 0, max: 0o7777 }),
  dir: fc.boolean(),
  umask: fc.integer({ min: 0, max: 0o777 }),
});

Deno.test("applyModeSpec() matches GNU chmod on random specs (property, sampled)", async () => {
  const seed = Number(Deno.env.get("NFS4_MODE_SEED") ?? 1616);
  const cases = fc.sample(arbitraryCase, { numRuns: 600, seed });
  await compareWithGnu(cases);
});

Deno.test("parseModeSpec() refuses what GNU refuses, with a usage error", () => {
  for (const bad of ["", "u", "u+x,", "rwx", "a+q", "99", "0o755", "u+x y"]) {
    assert.throws(
      () => parseModeSpec(bad),
      (e: unknown) => e instanceof UsageError && e.message === `invalid mode: '${bad}'`,
    );
  }
});

Deno.test("adjustMode() reports the bits a spec names, as mode_adjust's pmode_bits", () => {
  // mkdir -m: the bits beyond the umask's reach decide whether a chmod follows.
  assert.deepEqual(adjustMode(parseModeSpec("u+s"), 0o777, true, 0o022), {
    mode: 0o4777,
    modeBits: 0o4000,
  });
  assert.deepEqual(adjustMode(parseModeSpec("755"), 0o777, true, 0o022), {
    mode: 0o755,
    modeBits: 0o1777,
  });
  assert.deepEqual(adjustMode(parseModeSpec("+w"), 0o555, false, 0o022), {
    mode: 0o755,
    modeBits: 0o200,
  });
});

Deno.test("permissionString() and octalMode() print as chmod -v does", () => {
  assert.equal(permissionString(0o644), "rw-r--r--");
  assert.equal(permissionString(0o4755), "rwsr-xr-x");
  assert.equal(permissionString(0o4644), "rwSr--r--");
  assert.equal(permissionString(0o2750), "rwxr-s---");
  assert.equal(permissionString(0o2740), "rwxr-S---");
  assert.equal(permissionString(0o1777), "rwxrwxrwt");
  assert.equal(permissionString(0o1776), "rwxrwxrwT");
  assert.equal(permissionString(0), "---------");
  assert.equal(octalMode(0o644), "0644");
  assert.equal(octalMode(0o4755), "4755");
  assert.equal(octalMode(0), "0000");
});
