/**
 * `nfs4 simulate-reboot` as an operator sees it, against Ganesha: the text
 * report (setup and state held, the restart, a timeline in seconds from the
 * restart, the checks, the durations and a verdict line) and `--trace`
 * showing each state-manager step; and the drill without `--restart-cmd`,
 * where the operator restarts the server by hand while the drill waits (on
 * a directory: the drill's own file there is gone afterwards).
 */

import assert from "node:assert/strict";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startNfs4 } from "./_lock.ts";
import { drillResult, drillTest, restartCommand, startDrill } from "./_simulate_reboot.ts";

drillTest(
  "simulate-reboot prints setup, timeline, checks, durations and a verdict; --trace shows every step (NFSv4.1)",
  async (server) => {
    writeFileSync(join(server.exportDir, "drill"), "contents\n");
    const url = `${server.url}/vfs/drill`;
    const ended = await startNfs4([
      "--vers",
      "4.1",
      "--trace",
      "simulate-reboot",
      "--force",
      "--restart-cmd",
      restartCommand(server),
      url,
    ]).done;
    assert.equal(ended.code, 0, ended.stdout + ended.stderr.slice(-2000));
    const out = ended.stdout.split("\n");
    assert.equal(out[0], `simulate-reboot: server reboot drill on ${url} (NFSv4.1)`);
    assert.equal(
      out[1],
      `file: ${url}, an existing file of 9 bytes (--force: the bytes the drill writes stay ` +
        `overwritten; the file is left in place)`,
    );
    assert.match(
      out[2]!,
      /^setup: opened \/vfs\/drill read-write, locked write 0-, wrote a \d+-byte marker at 0 and read it back$/,
    );
    assert.match(
      out[3]!,
      /^ {2}client {4}clientid 0x[0-9a-f]{16} owner \S+, session [0-9a-f]{32} \(\d+ slots\), lease 3 s$/,
    );
    assert.match(
      out[4]!,
      /^ {2}open {6}\/vfs\/drill stateid [0-9a-f]{24}:\d+ owner \S+ \(read\+write\)$/,
    );
    assert.match(out[5]!, /^ {2}lock {6}\/vfs\/drill stateid [0-9a-f]{24}:\d+ owner \S+ write 0-$/);
    assert.match(
      out[6]!,
      /^ {2}observer {2}clientid 0x[0-9a-f]{16}: LOCKT write lock 0- held by clientid/,
    );
    assert.match(out[7]!, /^restart: \/bin\/sh -c '.*test_server\.ts'? ?.*restart --dir/);
    assert.match(out[8]!, /^ {2}exit 0 after [0-9.]+ m?s$/);
    const text = ended.stdout;
    assert.match(
      text,
      /\ntimeline \(seconds from the restart\):\n {2}\+0\.000 {2}restart command started\n/,
    );
    assert.match(text, /\n {2}\+\d\.\d{3} {2}OPEN\(CLAIM_PREVIOUS\) reclaimed {2}\(\/vfs\/drill /);
    assert.match(
      text,
      /\n {2}\+\d\.\d{3} {2}LOCK\(reclaim\) reclaimed {2}\(\/vfs\/drill write 0- \S+ -> \S+\)\n/,
    );
    assert.match(text, /\n {2}\+\d\.\d{3} {2}RECLAIM_COMPLETE ok\n/);
    assert.match(text, /\nchecks:\n {2}OK {4}another client's LOCKT before the reboot: /);
    assert.match(
      text,
      /\n {2}OK {4}reboot detected: SEQUENCE -> NFS4ERR_BADSESSION after [0-9.]+ ms\n/,
    );
    assert.doesNotMatch(text, /\n {2}FAIL /);
    assert.match(
      text,
      /\ndurations: server away [0-9.]+ m?s, detect [0-9.]+ ms, re-establish [0-9.]+ ms, reclaim [0-9.]+ ms, grace waited 0\.0 ms \(another client: [0-9.]+ m?s\)\n/,
    );
    assert.match(text, /\nstate after:\n {2}client {4}clientid /);
    assert.equal(out.at(-3), `file: ${url} left in place; bytes 0-72 hold the drill's markers`);
    assert.match(
      out.at(-2)!,
      /^ok: all state recovered and verified on NFSv4\.1: open and lock reclaimed in grace \(detect [0-9.]+ ms, re-establish [0-9.]+ ms, reclaim [0-9.]+ ms\)$/,
    );
    assert.equal(out.at(-1), "");

    // --trace: the state manager's steps on stderr, the second owner's marked.
    const trace = ended.stderr;
    for (
      const step of [
        / state \+SESSION_RESET {2}\(SEQUENCE -> NFS4ERR_BADSESSION\)\n/,
        / step {2}LEASE_EXPIRED start {2}\(CREATE_SESSION -> NFS4ERR_STALE_CLIENTID\)\n/,
        / step {2}RECLAIM_REBOOT start /,
        / open {2}OPEN\(CLAIM_PREVIOUS\) reclaimed /,
        / step {2}RECLAIM_COMPLETE ok\n/,
        / step {2}RECLAIM_REBOOT done /,
        / clid {2}EXCHANGE_ID ok {2}\(clientid 0x[0-9a-f]+ owner \S+\/observer\) {2}\[observer\]\n/,
      ]
    ) {
      assert.match(trace, step);
    }
    assert.doesNotMatch(trace, /^nfs4: /m);
  },
);

drillTest(
  "simulate-reboot without --restart-cmd waits for the operator to restart the server (NFSv4.0)",
  async (server) => {
    writeFileSync(join(server.exportDir, "other"), "contents\n");
    const before = readdirSync(server.exportDir).sort();
    // The export itself: the drill makes a file of its own there.
    const drill = startDrill(server, "4.0", ["--wait", "60"], "");
    await drill.waitFor(
      "stderr",
      /simulate-reboot: restart the NFS server at 127\.0\.0\.1:\d+ now; waiting up to 60 s/,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    await server.restart();
    const { code, report } = drillResult(await drill.done);
    assert.equal(code, 0, report.verdict);
    assert.equal(report.result, "recovered");
    assert.equal(report.restart, null);
    assert.equal(report.timeline[0]?.event, "asked for a server restart");
    const lost = report.timeline.find((e) => e.event === "connection lost");
    assert.ok(lost && lost.t >= 0.5, JSON.stringify(report.timeline.slice(0, 3)));
    // Detection is timed from the connection loss; the server was away meanwhile.
    assert.ok(report.durations.downMs! > 0);
    assert.ok(report.durations.detectMs! >= report.durations.downMs!);
    assert.match(String(report.recovery.detectedBy), /NFS4ERR_STALE_(STATEID|CLIENTID)/);
    // Its file was created in the directory and removed (after grace: REMOVE waits for it).
    assert.equal(report.file?.origin, "directory");
    assert.equal(report.file?.removed, true, String(report.file?.cleanupError));
    assert.deepEqual(readdirSync(server.exportDir).sort(), before);
  },
);
