/**
 * `cp --progress` stopped by Ctrl-C on a terminal: the bar is stopped with
 * nothing drawn after the interrupt. cli-progress's own stop() draws the
 * bar once more, moves the cursor back to where the bar began (ESC 8) and
 * clears below, which erased `nfs4 shell`'s "interrupted by SIGINT" line
 * printed meanwhile (an audit's pty run of `get --progress` and Ctrl-C).
 */

import assert from "node:assert/strict";
import { ProgressDisplay } from "../../cli/cp.ts";

/** A terminal-like stream that keeps what is written. */
function terminal(): { written: string[]; stream: Parameters<typeof newDisplay>[0] } {
  const written: string[] = [];
  return {
    written,
    stream: {
      isTTY: true,
      columns: 80,
      write(chunk: string | Uint8Array) {
        written.push(typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk));
        return true;
      },
      on: () => undefined,
    },
  };
}

function newDisplay(stream: ConstructorParameters<typeof ProgressDisplay>[0]): ProgressDisplay {
  return new ProgressDisplay(stream, true);
}

Deno.test("cp --progress: abandon() at an interrupt draws nothing more and never moves the cursor back over a message printed meanwhile", () => {
  const { written, stream } = terminal();
  const display = newDisplay(stream);
  display.update({
    bytesDone: 1 << 20,
    bytesTotal: 4 << 20,
    filesDone: 0,
    filesTotal: 1,
    current: "big",
  });
  assert.ok(written.join("").includes("25%"), "the bar was drawn");
  // The shell's line, as it prints it over the bar.
  stream.write("\r\x1b[Knfs4: interrupted by SIGINT\r\n");
  const from = written.length;
  display.abandon();
  const after = written.slice(from).join("");
  assert.ok(!after.includes("\x1b8"), "no cursor restore (ESC 8)");
  assert.ok(!after.includes("\x1b[0J"), "nothing cleared below");
  assert.doesNotMatch(after, /%/, "the bar not drawn again");
  assert.equal(after, "\r\x1b[K\x1b[?25h\x1b[?7h");
  // Stopped: later updates and stop() draw nothing.
  display.update({
    bytesDone: 2 << 20,
    bytesTotal: 4 << 20,
    filesDone: 0,
    filesTotal: 1,
    current: "big",
  });
  display.stop();
  assert.equal(written.slice(from).join(""), after);
});
