/**
 * cli/ls_time.ts: strftime against GNU date(1) in several time zones, the
 * `--time-style` words, and the six-months rule of `ls -l`.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  formatLsTime,
  LOCALE_STYLE,
  parseTimeStyle,
  SIX_MONTHS_MS,
  strftime,
  utcFields,
  utcProcessZone,
  zoneFields,
} from "../../cli/ls_time.ts";

const NOW = new Date("2024-11-21T10:48:00Z");
const UTC = { now: NOW, timeZone: "UTC" };
const ns = (iso: string, nanos = 0) => BigInt(Date.parse(iso)) * 1_000_000n + BigInt(nanos);

/** What `date -d @SECONDS.NANOS +FORMAT` prints in `zone`. */
async function gnuDate(format: string, when: bigint, zone: string): Promise<string> {
  const seconds = when / 1_000_000_000n;
  const nanos = String(when % 1_000_000_000n).padStart(9, "0");
  const out = await new Deno.Command("date", {
    args: ["-d", `@${seconds}.${nanos}`, `+${format}`],
    env: { LC_ALL: "C.UTF-8", TZ: zone },
    stdout: "piped",
  }).output();
  assert.ok(out.success);
  return new TextDecoder().decode(out.stdout).replace(/\n$/, "");
}

Deno.test("strftime() formats as GNU date does, in several time zones", async () => {
  const formats = [
    "%Y-%m-%d %H:%M:%S.%N %z",
    "%b %e %H:%M",
    "%b %e  %Y",
    "%m-%d %H:%M",
    "%a %A %b %B %h %j %k %l %I %p %P %u %w %y %C",
    "%s %F %T %R %D %r %c %x %X %:z",
    "%3N %6N %-d %-m %_m %_H %05Y %%",
    "[%Q %E]",
  ];
  const instants = [
    ns("2024-11-21T10:48:03Z", 123456789),
    ns("2024-03-05T00:00:00Z", 5),
    ns("2001-02-03T04:05:06Z"),
    ns("2024-07-04T23:59:59Z", 999999999),
    ns("1999-12-31T12:00:00Z"),
  ];
  for (const zone of ["UTC", "America/New_York", "Asia/Kolkata", "Europe/Berlin"]) {
    for (const when of instants) {
      for (const format of formats) {
        assert.equal(
          strftime(format, when, zone),
          await gnuDate(format, when, zone),
          `${format} at ${when} in ${zone}`,
        );
      }
    }
  }
  // %Z where glibc and ICU name the zone alike.
  for (const zone of ["UTC", "America/New_York"]) {
    for (const when of instants) {
      assert.equal(strftime("%Z", when, zone), await gnuDate("%Z", when, zone), zone);
    }
  }
});

Deno.test("parseTimeStyle() knows ls's styles, posix- prefixes and +FORMAT", () => {
  assert.deepEqual(parseTimeStyle("locale"), LOCALE_STYLE);
  assert.deepEqual(parseTimeStyle("full-iso"), {
    old: "%Y-%m-%d %H:%M:%S.%N %z",
    recent: "%Y-%m-%d %H:%M:%S.%N %z",
  });
  assert.deepEqual(parseTimeStyle("long-iso"), { old: "%Y-%m-%d %H:%M", recent: "%Y-%m-%d %H:%M" });
  assert.deepEqual(parseTimeStyle("iso"), { old: "%Y-%m-%d ", recent: "%m-%d %H:%M" });
  assert.deepEqual(parseTimeStyle("posix-long-iso"), parseTimeStyle("long-iso"));
  assert.deepEqual(parseTimeStyle("+%s"), { old: "%s", recent: "%s" });
  assert.deepEqual(parseTimeStyle("+%Y\n%H:%M"), { old: "%Y", recent: "%H:%M" });
  assert.equal(parseTimeStyle("+a\nb\nc"), undefined);
  assert.equal(parseTimeStyle("bogus"), undefined);
  assert.equal(parseTimeStyle(""), undefined);
});

Deno.test("formatLsTime() uses the six-months rule of coreutils", () => {
  const now = NOW.getTime();
  const at = (ms: number) => formatLsTime(BigInt(ms) * 1_000_000n, UTC);
  assert.equal(at(now - 60_000), "Nov 21 10:47");
  assert.equal(formatLsTime(ns("2024-11-01T03:04:00Z"), UTC), "Nov  1 03:04");
  assert.equal(formatLsTime(ns("2001-02-03T04:05:00Z"), UTC), "Feb  3  2001");
  assert.equal(formatLsTime(ns("2024-06-01T00:00:00Z"), UTC), "Jun  1 00:00");
  // The window is open at both ends: exactly six months ago, and now, are "old".
  assert.equal(at(now - SIX_MONTHS_MS), "May 22  2024");
  assert.match(at(now - SIX_MONTHS_MS + 60_000), /^May 22 \d\d:\d\d$/);
  assert.equal(at(now), "Nov 21  2024");
  // Future times print the year.
  assert.equal(formatLsTime(ns("2025-01-02T00:00:00Z"), UTC), "Jan  2  2025");
  assert.equal(formatLsTime(undefined, UTC), "?");
});

Deno.test("formatLsTime() applies the time zone and the style", () => {
  const when = ns("2024-11-21T01:30:00Z", 42);
  assert.equal(formatLsTime(when, UTC), "Nov 21 01:30");
  assert.equal(formatLsTime(when, { now: NOW, timeZone: "America/New_York" }), "Nov 20 20:30");
  assert.equal(formatLsTime(when, { now: NOW, timeZone: "Asia/Kolkata" }), "Nov 21 07:00");
  // Midnight is 00, not 24.
  assert.equal(formatLsTime(ns("2024-11-20T00:05:00Z"), UTC), "Nov 20 00:05");
  const style = (word: string) => ({ ...UTC, style: parseTimeStyle(word) });
  assert.equal(formatLsTime(when, style("full-iso")), "2024-11-21 01:30:00.000000042 +0000");
  assert.equal(formatLsTime(when, style("long-iso")), "2024-11-21 01:30");
  assert.equal(formatLsTime(when, style("iso")), "11-21 01:30");
  assert.equal(formatLsTime(ns("2001-02-03T04:05:00Z"), style("iso")), "2001-02-03 ");
  assert.equal(formatLsTime(when, style("+%Y\n%H:%M")), "01:30");
  assert.equal(formatLsTime(ns("2001-02-03T04:05:00Z"), style("+%Y\n%H:%M")), "2001");
  // Before 1970.
  assert.equal(
    formatLsTime(-1_500_000_001n, style("full-iso")),
    "1969-12-31 23:59:58.499999999 +0000",
  );
  // The process's zone by default, as Date's local getters see it.
  const local = new Date(Number(when / 1_000_000n));
  assert.equal(
    strftime("%Y %m %d %H %M", when),
    [
      local.getFullYear(),
      String(local.getMonth() + 1).padStart(2, "0"),
      String(local.getDate()).padStart(2, "0"),
      String(local.getHours()).padStart(2, "0"),
      String(local.getMinutes()).padStart(2, "0"),
    ].join(" "),
  );
});

Deno.test("utcFields() gives Intl's fields for UTC, and leaves years beyond 1-9999 to it", () => {
  const span = 8.64e15; // the whole range of Date
  fc.assert(
    fc.property(
      fc.oneof(
        fc.integer({ min: Date.UTC(1, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59) }),
        fc.integer({ min: -span, max: span }),
      ),
      (ms) => {
        const fields = utcFields(ms);
        const year = new Date(ms).getUTCFullYear();
        if (year < 1 || year > 9999) assert.equal(fields, undefined);
        else assert.deepStrictEqual(fields, zoneFields(ms, "UTC"));
      },
    ),
    { numRuns: 2000 },
  );
});

Deno.test("utcProcessZone() names UTC only for TZ or /etc/localtime's link naming UTC itself", () => {
  const link = (to: string | undefined) => () => to;
  const none = () => {
    throw new Error("not read when TZ is set");
  };
  assert.equal(utcProcessZone(undefined, link("/usr/share/zoneinfo/Etc/UTC")), "UTC");
  assert.equal(utcProcessZone(undefined, link("../usr/share/zoneinfo/UTC")), "UTC");
  assert.equal(utcProcessZone("UTC", none), "UTC");
  assert.equal(utcProcessZone("Etc/UTC", none), "UTC");
  // Anything else: the runtime finds the zone (and loads its database).
  for (const tz of ["", ":UTC", "UTC0", "GMT", "Europe/London", "America/New_York", "utc"]) {
    assert.equal(utcProcessZone(tz, none), undefined, tz);
  }
  for (
    const to of [
      undefined,
      "/usr/share/zoneinfo/Europe/London",
      "/usr/share/zoneinfo/Etc/UTC-3",
      "/usr/share/zoneinfo/Etc/GMT",
      "/etc/UTC",
      "/usr/share/zoneinfo/posix/Etc/UTC",
    ]
  ) {
    assert.equal(utcProcessZone(undefined, link(to)), undefined, String(to));
  }
});
