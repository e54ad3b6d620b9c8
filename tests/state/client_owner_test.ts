/**
 * Client owners (lib/state/client_owner.ts): unique per live process
 * whatever the environment, claimed atomically with flock(2), and a dead
 * process's instance handed on (RFC 7530 §9.1.1, RFC 8881 §2.4).
 */

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { claimInstance } from "../../lib/state/client_owner.ts";

const uid = Deno.uid() ?? -1;

Deno.test("claimInstance() gives each claim its own instance and hands a released one on", () => {
  const dir = mkdtempSync(join(tmpdir(), "nfs4-owner-test-"));
  try {
    const a = claimInstance(uid, [dir])!;
    const b = claimInstance(uid, [dir])!;
    assert.deepEqual([a.instance, b.instance], [0, 1]);
    a.release();
    const c = claimInstance(uid, [dir])!;
    assert.equal(c.instance, 0, "the released instance is the next one handed out");
    b.release();
    c.release();
  } finally {
    rmSync(dir, { recursive: true });
  }
});

Deno.test("claimInstance() refuses a directory others can write", () => {
  const dir = mkdtempSync(join(tmpdir(), "nfs4-owner-test-"));
  try {
    Deno.chmodSync(dir, 0o777);
    assert.equal(claimInstance(uid, [dir]), undefined);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

const MODULE = JSON.stringify(new URL("../../lib/state/client_owner.ts", import.meta.url).href);
/** Prints the owner it claims (in the default directories, or in Deno.args[1]), then holds it. */
const CLAIMER = `
import { claimClientOwner, claimInstance } from ${MODULE};
const dir = Deno.args[1];
console.log(dir ? String(claimInstance(Deno.uid() ?? -1, [dir])?.instance) : claimClientOwner().id);
await new Promise((r) => setTimeout(r, Number(Deno.args[0])));
`;

function spawnClaimer(env: Record<string, string>, holdMs = 1500, dir?: string): Deno.ChildProcess {
  // Outside the project and without its config: 24 of these at once must
  // not contend for the project's node_modules lock with the other tests'
  // `deno run`s (Deno then prints "Blocking waiting for file lock" on their
  // stderr). The module imports nothing from npm.
  return new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", "--ext=ts", CLAIMER, String(holdMs), ...(dir ? [dir] : [])],
    cwd: tmpdir(),
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function firstLine(child: Deno.ChildProcess): Promise<string> {
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return text.trim();
}

Deno.test("claimClientOwner(): 24 processes at once under different TMPDIRs get 24 different owners", async () => {
  // Each holds its claim until all 24 have printed theirs (then they are
  // killed): all are alive at once however slowly a loaded machine starts
  // them (a hold of 1.5 s was not always enough, and a claim released
  // early may rightly be taken again).
  const children = Array.from(
    { length: 24 },
    (_, i) =>
      spawnClaimer(
        { TMPDIR: `/tmp/nfs4-owner-tmpdir-${i % 5}`, HOME: `/nonexistent-${i}` },
        120_000,
      ),
  );
  const owners = await Promise.all(children.map(firstLine));
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch {
      // It has ended already (it failed before printing: the owners say so).
    }
    await child.stdout.cancel().catch(() => {});
    await child.stderr.cancel().catch(() => {});
    await child.status;
  }
  assert.equal(new Set(owners).size, owners.length, owners.join("\n"));
  for (const owner of owners) assert.match(owner, /^nfs4-ts\/[^/]+\/uid-?\d+\/\d+$/);
});

Deno.test("claimInstance(): a killed process's instance goes to the next process (the server then drops the dead incarnation)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "nfs4-owner-test-"));
  const mine = claimInstance(uid, [dir])!;
  try {
    const holder = spawnClaimer({}, 60_000, dir);
    const held = await firstLine(holder);
    assert.equal(held, "1");
    holder.kill("SIGKILL");
    await holder.status;
    await holder.stdout.cancel().catch(() => {});
    await holder.stderr.cancel().catch(() => {});
    const next = spawnClaimer({}, 10, dir);
    const handed = await firstLine(next);
    await next.status;
    await next.stdout.cancel().catch(() => {});
    await next.stderr.cancel().catch(() => {});
    assert.equal(handed, held);
  } finally {
    mine.release();
    rmSync(dir, { recursive: true });
  }
});
