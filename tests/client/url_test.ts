/**
 * parseNfsUrl(), formatNfsUrl(), joinUrl() and friends: RFC 2224 style URLs.
 */

import assert from "node:assert/strict";
import {
  encodeComponent,
  formatHostPort,
  formatNfsUrl,
  joinUrl,
  type NfsUrl,
  parseNfsUrl,
  urlForPath,
  urlPath,
  urlServerPart,
  UsageError,
} from "../../lib/client/url.ts";

function parsed(text: string): Omit<NfsUrl, "text" | "trailingSlash"> {
  const { text: typed, ...rest } = parseNfsUrl(text);
  assert.equal(typed, text, "text keeps what the user typed");
  const { trailingSlash: _, ...fields } = rest;
  return { ...fields, components: [...rest.components] };
}

Deno.test("parseNfsUrl() reads host, port and path", () => {
  const cases: [string, string, number, string[]][] = [
    ["nfs://127.0.0.1:2050/vfs/x", "127.0.0.1", 2050, ["vfs", "x"]],
    ["nfs://server/vfs", "server", 2049, ["vfs"]],
    ["nfs://h", "h", 2049, []],
    ["nfs://h/", "h", 2049, []],
    ["nfs://h/vfs/", "h", 2049, ["vfs"]],
    ["nfs://h/vfs//a///b/", "h", 2049, ["vfs", "a", "b"]],
    ["NFS://Server.Example.COM:111/a", "Server.Example.COM", 111, ["a"]],
    ["nfs://h:02049/a", "h", 2049, ["a"]],
    ["nfs://h:1/", "h", 1, []],
    ["nfs://h:65535/", "h", 65535, []],
    ["nfs://my_host-1.lan/a", "my_host-1.lan", 2049, ["a"]],
  ];
  for (const [text, host, port, components] of cases) {
    assert.deepEqual(
      parsed(text),
      { host, port, path: "/" + components.join("/"), components },
      text,
    );
  }
});

Deno.test("parseNfsUrl() reads IPv6 literals in brackets", () => {
  assert.deepEqual(parsed("nfs://[::1]:2050/vfs"), {
    host: "::1",
    port: 2050,
    path: "/vfs",
    components: ["vfs"],
  });
  assert.deepEqual(parsed("nfs://[::1]"), { host: "::1", port: 2049, path: "/", components: [] });
  assert.deepEqual(parsed("nfs://[2001:db8::7]/"), {
    host: "2001:db8::7",
    port: 2049,
    path: "/",
    components: [],
  });
  assert.equal(parseNfsUrl("nfs://[::ffff:192.0.2.1]:9/").host, "::ffff:192.0.2.1");
  assert.equal(parseNfsUrl("nfs://[fe80::1%25eth0]/").host, "fe80::1%eth0");
});

Deno.test("parseNfsUrl() percent-decodes each component on its own", () => {
  assert.deepEqual(parsed("nfs://h/a%20b/c"), {
    host: "h",
    port: 2049,
    path: "/a b/c",
    components: ["a b", "c"],
  });
  // %2F is part of the name, not a separator.
  assert.deepEqual(parseNfsUrl("nfs://h/a%2Fb/c").components, ["a/b", "c"]);
  assert.deepEqual(parseNfsUrl("nfs://h/%25").components, ["%"]);
  assert.deepEqual(parseNfsUrl("nfs://h/%3f%23").components, ["?#"]);
  // Non-ASCII, raw or as UTF-8 escapes.
  assert.deepEqual(parseNfsUrl("nfs://h/caf%C3%A9").components, ["café"]);
  assert.deepEqual(parseNfsUrl("nfs://h/café/日本").components, ["café", "日本"]);
  assert.deepEqual(parseNfsUrl("nfs://h/%F0%9F%98%80x").components, ["😀x"]);
  assert.deepEqual(parseNfsUrl("nfs://h/a b").components, ["a b"]);
  // Any byte: what is not UTF-8 becomes an escape that stands for the byte.
  assert.deepEqual(parseNfsUrl("nfs://h/lat%E9in1").components, ["lat\udce9in1"]);
  assert.deepEqual(parseNfsUrl("nfs://h/%FF%C3").components, ["\udcff\udcc3"]);
  assert.equal(encodeComponent("lat\udce9in1"), "lat%E9in1");
});

Deno.test("parseNfsUrl() notes a trailing slash: the name must be a directory", () => {
  assert.equal(parseNfsUrl("nfs://h/a/").trailingSlash, true);
  assert.equal(parseNfsUrl("nfs://h/a/.").trailingSlash, true);
  assert.equal(parseNfsUrl("nfs://h/a").trailingSlash, false);
  assert.equal(parseNfsUrl("nfs://h/").trailingSlash, false);
});

Deno.test("parseNfsUrl() resolves . and .. lexically", () => {
  assert.deepEqual(parseNfsUrl("nfs://h/a/./b/../c").components, ["a", "c"]);
  assert.deepEqual(parseNfsUrl("nfs://h/../a").components, ["a"]);
  assert.deepEqual(parseNfsUrl("nfs://h/a/%2E%2E").components, []);
  assert.equal(parseNfsUrl("nfs://h/a/..").path, "/");
});

Deno.test("parseNfsUrl() rejects malformed URLs with a UsageError naming the URL", () => {
  const cases: [string, RegExp][] = [
    ["", /^"": not an nfs:\/\/ URL/],
    ["ftp://x/a", /^ftp:\/\/x\/a: not an nfs:\/\/ URL/],
    ["/vfs/x", /^\/vfs\/x: not an nfs:\/\/ URL/],
    ["nfs:/h/x", /not an nfs:\/\/ URL/],
    ["nfs://", /^nfs:\/\/: missing host$/],
    ["nfs:///vfs", /^nfs:\/\/\/vfs: missing host$/],
    ["nfs://:2049/", /missing host/],
    ["nfs://h:99999/", /^nfs:\/\/h:99999\/: port out of range$/],
    ["nfs://h:0/", /port out of range/],
    ["nfs://h:/", /missing port/],
    ["nfs://h:x/", /bad port 'x'/],
    ["nfs://h:-1/", /bad port '-1'/],
    ["nfs://h:1e3/", /bad port/],
    ["nfs://h:20 49/", /bad port/],
    ["nfs://user@h/", /user info/],
    ["nfs://user:pw@h/", /user info/],
    ["nfs://h/a?b", /query strings.*%3F/],
    ["nfs://h/a?", /query strings/],
    ["nfs://h/a#b", /fragments.*%23/],
    ["nfs://h/a%zz", /bad percent-escape '%zz'/],
    ["nfs://h/a%2", /bad percent-escape '%2'/],
    ["nfs://h/a%", /bad percent-escape '%'/],
    ["nfs://h/a%00b", /%00/],
    ["nfs://h/a\nb", /control characters/],
    ["nfs://::1/", /IPv6 addresses must be in brackets/],
    ["nfs://[::1/", /unclosed '\['/],
    ["nfs://[]/", /missing host/],
    ["nfs://[zz::1]/", /bad IPv6 address/],
    ["nfs://[1.2.3.4]/", /bad IPv6 address/],
    ["nfs://[::1]x/", /unexpected 'x'/],
    ["nfs://[::1]:/", /missing port/],
    ["nfs://[::1]:70000/", /port out of range/],
    ["nfs://[fe80::1%eth0]/", /bad IPv6 zone/],
    ["nfs://h%41/", /bad host name/],
    ["nfs://a b/", /bad host name/],
    ["nfs://999.1.1.1/", /bad IPv4 address/],
    ["nfs://1.2.3/", /bad IPv4 address/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(
      () => parseNfsUrl(text),
      (err: unknown) => {
        assert.ok(err instanceof UsageError, `${JSON.stringify(text)} throws a UsageError`);
        assert.equal(err.name, "UsageError");
        assert.match(err.message, pattern, JSON.stringify(text));
        if (text !== "") assert.ok(err.message.startsWith(`${text}: `), err.message);
        return true;
      },
    );
  }
});

Deno.test("parseNfsUrl() names a port with a stray ':' as a bad port, not an IPv6 address (RFC 3986 §3.2.2, §3.2.3)", () => {
  const cases: [string, string][] = [
    // A stray ':' in or after the port: the port is what is wrong.
    ["nfs://127.0.0.1:23000:/vfs", "nfs://127.0.0.1:23000:/vfs: bad port '23000:'"],
    ["nfs://h:2049:1/", "nfs://h:2049:1/: bad port '2049:1'"],
    ["nfs://h::2049/", "nfs://h::2049/: bad port ':2049'"],
    // An IPv6 address without its brackets still gets the advice.
    ["nfs://::1/", "nfs://::1/: IPv6 addresses must be in brackets: nfs://[ADDRESS]/"],
    [
      "nfs://fe80::1:2049/x",
      "nfs://fe80::1:2049/x: IPv6 addresses must be in brackets: nfs://[ADDRESS]/",
    ],
    [
      "nfs://fe80::1%eth0/",
      "nfs://fe80::1%eth0/: IPv6 addresses must be in brackets: nfs://[ADDRESS]/",
    ],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseNfsUrl(text), (err: unknown) => {
      assert.ok(err instanceof UsageError, text);
      assert.equal(err.message, message);
      return true;
    });
  }
});

Deno.test("encodeComponent() escapes only what a URL cannot hold", () => {
  assert.equal(encodeComponent("plain-name_1.txt"), "plain-name_1.txt");
  assert.equal(encodeComponent("a b"), "a%20b");
  assert.equal(encodeComponent("a/b"), "a%2Fb");
  assert.equal(encodeComponent("100%"), "100%25");
  assert.equal(encodeComponent("q?#"), "q%3F%23");
  assert.equal(encodeComponent("tab\there"), "tab%09here");
  assert.equal(encodeComponent("café"), "café");
  assert.equal(encodeComponent("\u00a0"), "%C2%A0");
  assert.equal(encodeComponent("a\u202eb"), "a%E2%80%AEb");
  assert.equal(encodeComponent("x:@!$&'()*+,;=~"), "x:@!$&'()*+,;=~");
});

Deno.test("formatNfsUrl() writes the canonical form", () => {
  assert.equal(formatNfsUrl({ host: "h", port: 2049, components: [] }), "nfs://h/");
  assert.equal(formatNfsUrl({ host: "h", port: 2050, components: ["vfs"] }), "nfs://h:2050/vfs");
  assert.equal(
    formatNfsUrl({ host: "::1", port: 2050, components: ["vfs", "a b", "c/d"] }),
    "nfs://[::1]:2050/vfs/a%20b/c%2Fd",
  );
  assert.equal(
    formatNfsUrl({ host: "fe80::1%eth0", port: 2049, components: ["x"] }),
    "nfs://[fe80::1%25eth0]/x",
  );
});

Deno.test("formatNfsUrl() and parseNfsUrl() round-trip awkward names", () => {
  const names = ["a b", "a/b", "%", "?", "#", "é", "日本語", "😀", "\t", "x\u200by", "[x]", "a\\b"];
  for (const name of names) {
    const text = formatNfsUrl({ host: "::1", port: 7, components: ["d", name] });
    assert.deepEqual(parseNfsUrl(text).components, ["d", name], text);
  }
});

Deno.test("joinUrl() appends an encoded name and keeps the user's spelling", () => {
  const base = parseNfsUrl("nfs://127.0.0.1:2049/vfs/");
  const child = joinUrl(base, "a b");
  assert.equal(child.text, "nfs://127.0.0.1:2049/vfs/a%20b");
  assert.equal(child.path, "/vfs/a b");
  assert.deepEqual(child.components, ["vfs", "a b"]);
  assert.equal(child.host, "127.0.0.1");
  assert.equal(child.port, 2049);
  assert.deepEqual(parseNfsUrl(child.text).components, child.components);

  assert.equal(joinUrl(parseNfsUrl("nfs://h"), "x").text, "nfs://h/x");
  assert.equal(joinUrl(parseNfsUrl("nfs://h/"), "x").text, "nfs://h/x");
  assert.equal(joinUrl(parseNfsUrl("nfs://h/d//"), "a/b").text, "nfs://h/d/a%2Fb");
  assert.equal(joinUrl(joinUrl(parseNfsUrl("nfs://[::1]:9"), "a"), "b").text, "nfs://[::1]:9/a/b");
  assert.throws(() => joinUrl(base, ".."), UsageError);
  assert.throws(() => joinUrl(base, ""), UsageError);
});

Deno.test("urlServerPart(), urlForPath() and formatHostPort() name the server", () => {
  const url = parseNfsUrl("nfs://127.0.0.1:2049/vfs/x");
  assert.equal(urlServerPart(url), "nfs://127.0.0.1:2049");
  assert.equal(urlServerPart(parseNfsUrl("nfs://h")), "nfs://h");
  assert.equal(urlForPath(url, "/vfs/a b"), "nfs://127.0.0.1:2049/vfs/a%20b");
  assert.equal(urlForPath(url, "/"), "nfs://127.0.0.1:2049/");
  assert.equal(formatHostPort(url), "127.0.0.1:2049");
  assert.equal(formatHostPort(parseNfsUrl("nfs://[::1]/")), "[::1]:2049");
});

Deno.test("urlPath() keeps a trailing slash, for the client to require a directory", () => {
  const cases: [string, string][] = [
    ["nfs://h/vfs/link/", "/vfs/link/"],
    ["nfs://h/vfs/link/.", "/vfs/link/"],
    ["nfs://h/vfs/link//", "/vfs/link/"],
    ["nfs://h/vfs/link", "/vfs/link"],
    // One name holding '/': U+DC2F in a client path (lib/client/names.ts), never a separator.
    ["nfs://h/vfs/a%2Fb/", "/vfs/a\udc2fb/"],
    ["nfs://h/", "/"],
    ["nfs://h", "/"],
    ["nfs://h/vfs/x/..", "/vfs"],
  ];
  for (const [text, path] of cases) assert.equal(urlPath(parseNfsUrl(text)), path, text);
  assert.equal(urlPath(joinUrl(parseNfsUrl("nfs://h/vfs/"), "a")), "/vfs/a");
});
