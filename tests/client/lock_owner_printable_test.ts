/**
 * The conflicting lock's owner as `nfs4 lock` prints it (lib/client/errors.ts
 * formatOwner()): LOCK4denied's owner is opaque (RFC 7530 §16.10.4, RFC 8881
 * §18.10.4), up to NFS4_OPAQUE_LIMIT bytes a hostile server chooses; it
 * reaches the terminal only as printable ASCII, else as hex.
 */

import assert from "node:assert/strict";
import { describeLockHolder, formatOwner } from "../../lib/client/errors.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("formatOwner() prints a printable owner as it is and any other in hex, never a control character", () => {
  assert.equal(formatOwner(bytes("lock-p42-1")), "lock-p42-1");
  assert.equal(formatOwner(bytes("\x1b]0;pwned\x07")), "1b5d303b70776e656407");
  assert.equal(formatOwner(bytes("a\nb")), "610a62");
  assert.equal(formatOwner(bytes("é")), "c3a9");
  assert.equal(formatOwner(new Uint8Array([0x7f])), "7f");
  const longest = formatOwner(new Uint8Array(1024).fill(0x9b)); // CSI, 1024 times
  assert.equal(longest, "9b".repeat(1024));
  const line = describeLockHolder({
    type: "write",
    offset: 0n,
    length: 10n,
    clientid: 1n,
    owner: formatOwner(bytes("\x1b[2J")),
  });
  assert.ok([...line].every((c) => c >= " " && c <= "~"), line);
});
