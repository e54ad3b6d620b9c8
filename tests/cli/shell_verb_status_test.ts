/**
 * `nfs4 shell` on a pseudo-terminal, through the fault proxy to Ganesha: a
 * verb whose work was done when Ctrl-C came ends with its own status, not
 * 130. Ctrl-C stops a verb softly (lib/state/operation_scope.ts): a state
 * change in flight is answered and kept, so `open f`, its OPEN's reply
 * held back by the proxy and Ctrl-C typed meanwhile, still opens f and
 * holds it. Before, the shell said 130 anyway (its exit status at Ctrl-D),
 * as if the open had been stopped, while the file stayed held. The rest of
 * the line is still dropped, as sh drops it at Ctrl-C.
 */

import assert from "node:assert/strict";
import { serverTest } from "../_server.ts";
import { FaultProxy } from "../_fault_proxy.ts";
import { tempDir } from "./_cp.ts";
import { hasScript, onTerminal } from "./_pty.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

serverTest(
  "nfs4 shell: Ctrl-C during an OPEN that is still answered: open holds the file and ends 0, not 130",
  async (server) => {
    await Deno.writeTextFile(`${server.exportDir}/f`, "f\n");
    await using proxy = await FaultProxy.start({ target: server, log: () => {} });
    // The OPEN's reply comes 4 s late; Ctrl-C comes half a second after it was sent.
    const DELAY_MS = 4000;
    proxy.delayReply("OPEN", DELAY_MS);
    const home = await tempDir("nfs4-shell-status-");
    try {
      const { code, text } = await onTerminal(
        ["--vers", "4.1", "shell", `${proxy.url}/vfs`],
        [
          ["", 2500],
          ["open f; pwd\r", 100],
          [async () => {
            while (proxy.opCount("OPEN") === 0) await sleep(50);
          }, 500],
          ["\x03", DELAY_MS + 1500],
          ["\x04", 1500],
        ],
        { XDG_STATE_HOME: home },
      );
      const [open] = proxy.compoundsWith("OPEN");
      // The OPEN was answered (late, after the Ctrl-C) and succeeded.
      assert.equal(open?.reply?.fate, "delayed", text);
      assert.equal(open?.reply?.statusName, "NFS4_OK", text);
      assert.match(text, /\^C\n/, text);
      // The open says nothing: it succeeded. pwd, after it on the line, did not run.
      assert.doesNotMatch(text, /nfs4: /, text);
      assert.doesNotMatch(text, /\n\/vfs\n/, text);
      // The file was held: the shell's exit closed it.
      assert.equal(proxy.opCount("CLOSE"), 1, text);
      // Ctrl-D ends the shell with the last verb's status: open's 0.
      assert.equal(code, 0, text);
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
  { ignore: !hasScript },
);
