/**
 * `AttributeReport.values` is typed with `AttributeValues`, mod.ts's public
 * name for the decoder's own `FileAttributes` (lib/nfs4/attrs.ts), which is
 * documented field by field where it is defined; mod.ts also exports the
 * types of its fields (`NfsTime`, `Ace`, `Fsid`...). `deno doc --lint`
 * fails when a public type refers to one that is not exported, or when an
 * exported symbol lacks documentation.
 */

import assert from "node:assert/strict";

Deno.test({
  name: "deno doc --lint mod.ts finds no error: no private type behind AttributeReport.values",
  permissions: { run: true, read: true, env: true },
  fn: async () => {
    const root = new URL("../../", import.meta.url);
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["doc", "--lint", "mod.ts"],
      cwd: root,
      stdout: "null",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(stderr);
    assert.doesNotMatch(text, /private-type-ref/, text);
    assert.equal(code, 0, text);
  },
});
