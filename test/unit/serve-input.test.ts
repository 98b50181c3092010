import { describe, expect, test } from "bun:test";
import { parseDecimal, parseHost } from "../../src/commands/serve.ts";
import { requestPath } from "../../src/serve/http.ts";
import { isServedName, isWrittenName, segmentFileName } from "../../src/serve/segment-names.ts";

describe("serve's numbers and host", () => {
  test("numbers are plain decimals only", () => {
    expect(parseDecimal("30", "fps", "1-60")).toBe(30);
    expect(parseDecimal("0.5", "segment", "0.5-10")).toBe(0.5);
    expect(parseDecimal("-1", "port", "0-65535")).toBe(-1); // the range check that follows names it
    expect(parseDecimal(25, "fps", "1-60")).toBe(25);
    for (const bad of ["0x10", "1e1", "", " 30", "30 ", "+30", "3_0", "0b11", "Infinity", "NaN", ".5", "5."]) {
      expect(() => parseDecimal(bad, "fps", "a whole number from 1 to 60")).toThrow(
        `fps '${bad}' is not a plain decimal number: use a whole number from 1 to 60`,
      );
    }
    expect(() => parseDecimal(["1", "2"], "port", "0-65535")).toThrow("port is given 2 times (1, 2): give it once");
  });

  test("hosts: IPv4, IPv6 and host names; nothing else", () => {
    for (const ok of ["0.0.0.0", "127.0.0.1", "::", "::1", "fe80::1", "localhost", "my-host.example.org"]) expect(parseHost(ok)).toBe(ok);
    for (const bad of ["256.1.1.1", "", "1.2.3", "1.2.3.4.5", ":::", "[::1]", "a b", "-lead", "trail-", "a..b", "x".repeat(64)]) {
      expect(() => parseHost(bad)).toThrow(`host '${bad}' is not an address to listen on`);
    }
  });
});

describe("what the origin serves", () => {
  test("the path of a request, whatever its Host", () => {
    expect(requestPath("http://127.0.0.1:5000/video/stream.m3u8?x=1")).toBe("/video/stream.m3u8");
    expect(requestPath("/time")).toBe("/time"); // HTTP/1.0 without Host
    expect(requestPath("http://[::1/time")).toBe("/time"); // a broken Host
    expect(requestPath("http://exa%mple/time")).toBe("/time");
    expect(requestPath("http://h/video/../../etc/passwd")).toBe("/etc/passwd"); // dot segments resolved, as by URL
    expect(requestPath("http://h//etc/passwd")).toBe("//etc/passwd");
    expect(requestPath("*")).toBe("/*");
  });

  test("names: the playlist and seg_<n>.ts as written, not temporary or foreign files", () => {
    for (const ok of ["stream.m3u8", segmentFileName(0), segmentFileName(12345)]) expect(isServedName(ok)).toBe(true);
    for (const bad of ["notes.m3u8", "private.mp4", "seg_01.ts", "seg_1.ts.tmp", "stream.m3u8.tmp", "seg_.ts", "seg_1.mp4", "../stream.m3u8", "seg_1.ts/"]) {
      expect(isServedName(bad)).toBe(false);
    }
    expect(["seg_1.ts.tmp", "stream.m3u8.tmp", "seg_7.ts"].every(isWrittenName)).toBe(true);
    expect(["private.mp4", "notes.m3u8", "seg_x.ts"].some(isWrittenName)).toBe(false);
  });
});
