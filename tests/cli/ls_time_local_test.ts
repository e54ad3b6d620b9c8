/**
 * `ls -l`'s times in the process's own zone come from Date's local getters
 * (cli/ls_time.ts `localFields`), other zones from Intl (`zoneFields`): the
 * two must give the same fields. The zone of a process is fixed when it
 * starts, so each zone is checked in a process of its own (TZ=...), under
 * Deno and, when installed, under Bun (the binary's runtime): 4,000 seeded
 * instants from 1890 to 2110 and the hours around every offset change the
 * zone has in that span. The zones have half-hour and 45-minute offsets,
 * negative summer time (Europe/Dublin), southern summer time, a half-hour
 * summer shift (Australia/Lord_Howe) and local mean time with seconds.
 * Also: %z of local mean time as GNU date prints it (seconds dropped).
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { strftime } from "../../cli/ls_time.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const bun = `${root}.tools/bun/node_modules/.bin/bun`;

const ZONES = [
  "UTC",
  "Asia/Kolkata",
  "America/New_York",
  "America/St_Johns",
  "America/Sao_Paulo",
  "Europe/Dublin",
  "Europe/Amsterdam",
  "Australia/Lord_Howe",
  "Pacific/Chatham",
  "Africa/Monrovia",
];

/** Run with TZ set: prints `{ checked, skipped, differences }` as JSON. */
const CHECK = `
import { localFields, zoneFields } from ${JSON.stringify(`${root}cli/ls_time.ts`)};
let seed = 0x2545f491;
const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
const from = Date.UTC(1890, 0, 1), to = Date.UTC(2110, 0, 1);
const instants = [];
for (let i = 0; i < 4000; i++) instants.push(Math.floor(from + random() * (to - from)));
// Every change of offset in the span, found hour by hour, and the hours around it.
let before = new Date(from).getTimezoneOffset();
for (let t = from; t < to; t += 3_600_000) {
  const offset = new Date(t).getTimezoneOffset();
  if (offset !== before) {
    for (let d = -7_200_000; d <= 7_200_000; d += 600_000) instants.push(t + d - 1, t + d);
    before = offset;
  }
}
let checked = 0, skipped = 0;
const differences = [];
for (const ms of instants) {
  const local = localFields(ms);
  if (!local) { skipped++; continue; }
  checked++;
  const zone = zoneFields(ms, undefined);
  if (JSON.stringify(local) !== JSON.stringify(zone) && differences.length < 5) {
    differences.push({ at: new Date(ms).toISOString(), local, zone });
  }
}
console.log(JSON.stringify({ checked, skipped, differences }));
`;

async function runCheck(command: string, args: string[], zone: string) {
  const out = await new Deno.Command(command, {
    args,
    env: { TZ: zone },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, `${zone}: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(stdout) as { checked: number; skipped: number; differences: unknown[] };
}

Deno.test("ls -l times in the process's zone: Date's local getters agree with Intl (Deno)", async () => {
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(script, CHECK);
    for (const zone of ZONES) {
      const result = await runCheck(Deno.execPath(), ["run", "-A", script], zone);
      assert.deepEqual(result.differences, [], zone);
      assert.ok(result.checked >= 4000, `${zone}: ${JSON.stringify(result)}`);
    }
  } finally {
    await Deno.remove(script);
  }
});

Deno.test({
  name: "ls -l times in the process's zone: Date's local getters agree with Intl (Bun)",
  ignore: !existsSync(bun),
  async fn() {
    const script = await Deno.makeTempFile({ suffix: ".ts" });
    try {
      await Deno.writeTextFile(script, CHECK);
      for (const zone of ZONES) {
        const result = await runCheck(bun, [script], zone);
        assert.deepEqual(result.differences, [], zone);
        assert.ok(result.checked >= 4000, `${zone}: ${JSON.stringify(result)}`);
      }
    } finally {
      await Deno.remove(script);
    }
  },
});

Deno.test("%z of local mean time drops its seconds, as GNU date prints it", () => {
  const s = (seconds: bigint) => seconds * 1_000_000_000n;
  // TZ=Asia/Kolkata date -d @-2208988800 '+%F %T %z': 1900-01-01 05:21:10 +0521
  assert.equal(
    strftime("%F %T %z", s(-2208988800n), "Asia/Kolkata"),
    "1900-01-01 05:21:10 +0521",
  );
  // TZ=Africa/Monrovia date -d @-1577923200 '+%F %T %z': 1919-12-31 23:15:30 -0044
  assert.equal(
    strftime("%F %T %z", s(-1577923200n), "Africa/Monrovia"),
    "1919-12-31 23:15:30 -0044",
  );
});
