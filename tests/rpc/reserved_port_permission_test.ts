/**
 * A reserved source port is bound on 0.0.0.0. Under Deno with net permission
 * for the server alone (`--allow-net=127.0.0.1`), binding it threw NotCapable
 * from a later tick, outside any promise, and the process ended; now such a
 * client connects from an ordinary port, and one that asks for a reserved
 * port outright is refused with a message saying what permission it needs.
 * Only as root (a reserved port is chosen by default only there).
 */

import assert from "node:assert/strict";
import process from "node:process";

const root = typeof process.getuid === "function" && process.getuid() === 0;
const mod = new URL("../../mod.ts", import.meta.url).href;

/** Runs `body` under Deno with net permission for 127.0.0.1 only, against a silent server. */
async function underNarrowNet(body: string): Promise<{ code: number; out: string }> {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/program.ts`;
    await Deno.writeTextFile(
      file,
      `import net from "node:net";
import { Nfs4Client } from ${JSON.stringify(mod)};
const server = net.createServer((s) => s.on("data", () => {}));
await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
const port = (server.address() as net.AddressInfo).port;
try {
  ${body}
  console.log("connected");
} catch (e) {
  console.log("rejected:", (e as Error).message);
}
server.close();
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net=127.0.0.1",
        "--allow-sys",
        "--allow-env",
        "--allow-read",
        "--allow-write",
        "--allow-ffi",
        file,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return { code: out.code, out: text };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name:
    "as root under --allow-net=127.0.0.1, connect() rejects (the server is silent) instead of the process dying of NotCapable (RFC 5531 §9: an ordinary source port)",
  ignore: !root,
  async fn() {
    const r = await underNarrowNet(
      `await Nfs4Client.connect({ host: "127.0.0.1", port, timeoutMs: 500 });`,
    );
    assert.equal(r.code, 0, r.out);
    assert.doesNotMatch(r.out, /NotCapable/);
    assert.match(r.out, /^rejected: .*timed out/m);
  },
});

Deno.test({
  name:
    "as root under --allow-net=127.0.0.1, reservedPort: true is refused naming the permission it needs",
  ignore: !root,
  async fn() {
    const r = await underNarrowNet(
      `await Nfs4Client.connect({ host: "127.0.0.1", port, timeoutMs: 500, reservedPort: true });`,
    );
    assert.equal(r.code, 0, r.out);
    assert.doesNotMatch(r.out, /NotCapable/);
    assert.match(r.out, /^rejected: reservedPort needs net permission for 0\.0\.0\.0/m);
  },
});
