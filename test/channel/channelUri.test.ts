// Goal: every channel URI parameter of PROTOCOL.md section 10 parses to the right typed value;
// every limit holds at its boundary and fails one step past it; and every error is a
// ChannelUriError that names the offending parameter and the value given.
import { describe, expect, it } from "vitest";
import { parseChannelUri, formatChannelUri, type ChannelUri } from "../../src/core/channel/channelUri.js";
import { ChannelUriError, PetrelError, WHOLE_URI } from "../../src/core/errors.js";

function udp(params: string): ChannelUri {
  return parseChannelUri(`aeron:udp?${params}`);
}

/** Parses `text`, requires a ChannelUriError naming `parameter`, and returns it. */
function uriError(text: string, parameter: string): ChannelUriError {
  let caught: unknown;
  try {
    parseChannelUri(text);
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected '${text}' to be refused`).toBeInstanceOf(ChannelUriError);
  const error = caught as ChannelUriError;
  expect(error.parameter, error.message).toBe(parameter);
  expect(error).toBeInstanceOf(PetrelError);
  expect(error.code).toBe("CHANNEL_URI");
  if (parameter !== WHOLE_URI) expect(error.message).toContain(`'${parameter}'`);
  return error;
}

const udpError = (params: string, parameter: string): ChannelUriError => uriError(`aeron:udp?${params}`, parameter);

describe("media and shape", () => {
  it("parses bare udp and ipc, and ipc with parameters", () => {
    expect(parseChannelUri("aeron:udp")).toEqual({ media: "udp" });
    expect(parseChannelUri("aeron:ipc")).toEqual({ media: "ipc" });
    expect(parseChannelUri("aeron:ipc?term-length=64k|mtu=8k")).toEqual({ media: "ipc", termLengthBytes: 65536, mtuBytes: 8192 });
  });

  it("returns a deeply frozen object with absent (not undefined) optional fields", () => {
    const uri = udp("endpoint=224.0.1.1:40456|fc=min,t:1s|init-term-id=1|term-id=2|term-offset=64");
    expect(Object.isFrozen(uri)).toBe(true);
    expect(Object.isFrozen(uri.endpoint)).toBe(true);
    expect(Object.isFrozen(uri.multicast)).toBe(true);
    expect(Object.isFrozen(uri.multicast?.control)).toBe(true);
    expect(Object.isFrozen(uri.flowControl)).toBe(true);
    expect(Object.isFrozen(uri.initialPosition)).toBe(true);
    expect("mtuBytes" in uri).toBe(false);
    expect(Object.keys(udp("endpoint=localhost:1"))).toEqual(["media", "endpoint"]);
  });

  it("refuses aeron-spy:, other schemes, other media", () => {
    expect(uriError("aeron-spy:aeron:udp?endpoint=localhost:40123", WHOLE_URI).message).toContain("aeron-spy");
    uriError("udp://localhost:40123", WHOLE_URI);
    expect(uriError("aeron:tcp?endpoint=localhost:1", WHOLE_URI).message).toContain("media 'tcp'");
    uriError("aeron:", WHOLE_URI);
    uriError("aeron:UDP", WHOLE_URI);
  });

  it("refuses unknown, repeated, empty and keyless parameters, naming them", () => {
    expect(udpError("endpoint=localhost:1|aliass=x", "aliass").message).toContain("unknown parameter");
    expect(udpError("mtu=1408|mtu=4096", "mtu").message).toContain("more than once");
    expect(udpError("mtu=", "mtu").message).toContain("must not be empty");
    expect(udpError("reliable", "reliable").message).toContain("key=value");
    uriError("aeron:udp?mtu=1408||ttl=1", WHOLE_URI);
    uriError("aeron:udp?mtu=1408|", WHOLE_URI);
    uriError("aeron:udp?=5", WHOLE_URI);
    // Keys are case-sensitive, as in Aeron.
    udpError("MTU=1408", "MTU");
  });

  it("accepts the Aeron parameters that are cosmetic or that Petrel applies (issue #12, item 11)", () => {
    expect(udp("endpoint=localhost:1|alias=orders feed=1|stream-id=1001|rejoin=false|ssc=true|pub-wnd=256k|untethered-window-limit-timeout=5s|untethered-resting-timeout=10s")).toEqual({
      media: "udp",
      endpoint: { host: "localhost", hostKind: "name", port: 1 },
      alias: "orders feed=1",
      streamId: 1001,
      rejoin: false,
      spiesSimulateConnection: true,
      publicationWindowBytes: 256 * 1024,
      untetheredWindowLimitTimeoutNs: 5e9,
      untetheredRestingTimeoutNs: 10e9,
    });
    expect(parseChannelUri("aeron:ipc?alias=x|pub-wnd=64k").alias).toBe("x");
    udpError("stream-id=x", "stream-id");
    udpError("rejoin=yes", "rejoin");
    udpError("ssc=1", "ssc");
    udpError("pub-wnd=0", "pub-wnd");
    udpError("untethered-resting-timeout=soon", "untethered-resting-timeout");
    expect(uriError("aeron:ipc?rejoin=true", "rejoin").message).toContain("aeron:ipc");
  });

  it("refuses by name, with the reason, the Aeron parameters for features Petrel lacks", () => {
    expect(udpError("endpoint=localhost:1|tags=1,2", "tags").message).toContain("write the channel in full");
    expect(udpError("ats=true", "ats").message).toContain("not supported");
    for (const name of ["media-rcv-ts-offset", "channel-rcv-ts-offset", "channel-snd-ts-offset"]) {
      expect(udpError(`${name}=reserved`, name).message).toContain("timestamps");
    }
    expect(udpError("response-correlation-id=7", "response-correlation-id").message).toContain("response channels");
    expect(udpError("session-id=tag:5", "session-id").message).toContain("tag");
  });

  it("refuses UDP-only parameters on ipc", () => {
    for (const param of ["endpoint=localhost:1", "interface=10.0.0.1", "control=10.0.0.1:1", "control-mode=manual", "reliable=true", "ttl=1", "fc=max", "cc=cubic", "rcv-wnd=64k", "so-sndbuf=64k", "so-rcvbuf=64k", "group=true", "gtag=1", "nak-delay=1ms", "max-resend=4"]) {
      const name = param.slice(0, param.indexOf("="));
      expect(uriError(`aeron:ipc?${param}`, name).message).toContain("aeron:ipc");
    }
  });

  it("writes the human message the brief promises", () => {
    expect(udpError("mtu=1000", "mtu").message).toBe("channel parameter 'mtu' = '1000': must be a multiple of 32 between 64 and 65504");
    const error = udpError("mtu=1000", "mtu");
    expect(error.value).toBe("1000");
  });
});

describe("endpoint, control, interface", () => {
  it("parses IPv4 and host name endpoints, ports 0 and 65535", () => {
    expect(udp("endpoint=192.168.0.1:40456").endpoint).toEqual({ host: "192.168.0.1", hostKind: "ipv4", port: 40456 });
    expect(udp("endpoint=localhost:0").endpoint).toEqual({ host: "localhost", hostKind: "name", port: 0 });
    expect(udp("endpoint=my-host.example_1.com:65535").endpoint).toEqual({ host: "my-host.example_1.com", hostKind: "name", port: 65535 });
    expect(udp("control=10.0.0.1:40457").control).toEqual({ host: "10.0.0.1", hostKind: "ipv4", port: 40457 });
    expect(udp("endpoint=255.255.255.255:1").endpoint?.host).toBe("255.255.255.255");
  });

  it("refuses bad ports, bad hosts, missing ports and IPv6", () => {
    expect(udpError("endpoint=localhost:65536", "endpoint").message).toContain("65535");
    udpError("endpoint=localhost:-1", "endpoint");
    udpError("endpoint=localhost:", "endpoint");
    udpError("endpoint=localhost", "endpoint");
    udpError("endpoint=:40456", "endpoint");
    expect(udpError("endpoint=10.0.0.256:1", "endpoint").message).toContain("not a valid IPv4");
    udpError("endpoint=10.0.0:1", "endpoint");
    udpError("endpoint=010.0.0.1:1", "endpoint");
    udpError("endpoint=bad host:1", "endpoint");
    udpError("endpoint=-bad:1", "endpoint");
    expect(udpError("endpoint=[::1]:40456", "endpoint").message).toContain("IPv6");
    expect(udpError("control=::1:40456", "control").message).toContain("IPv6");
    udpError("control=localhost", "control");
  });

  it("parses interface as ip, ip:port, ip/prefix and ip:port/prefix", () => {
    expect(udp("interface=192.168.1.7").networkInterface).toEqual({ address: "192.168.1.7" });
    expect(udp("interface=192.168.1.7:0").networkInterface).toEqual({ address: "192.168.1.7", port: 0 });
    expect(udp("interface=192.168.1.0/24").networkInterface).toEqual({ address: "192.168.1.0", prefixLength: 24 });
    expect(udp("interface=0.0.0.0/0").networkInterface).toEqual({ address: "0.0.0.0", prefixLength: 0 });
    expect(udp("interface=10.0.0.1:40000/32").networkInterface).toEqual({ address: "10.0.0.1", port: 40000, prefixLength: 32 });
  });

  it("refuses interface prefixes past 32, host names and bad ports", () => {
    expect(udpError("interface=192.168.1.0/33", "interface").message).toContain("0 and 32");
    udpError("interface=192.168.1.0/", "interface");
    udpError("interface=eth0", "interface");
    udpError("interface=10.0.0.1:65536", "interface");
    udpError("interface=[fe80::1]", "interface");
  });

  it("parses control-mode and requires control for dynamic", () => {
    expect(udp("control-mode=manual").controlMode).toBe("manual");
    expect(udp("control=10.0.0.1:1|control-mode=dynamic").controlMode).toBe("dynamic");
    expect(udp("control-mode=response|control=10.0.0.1:1").controlMode).toBe("response");
    expect(udpError("control-mode=dynamic", "control-mode").message).toContain("control");
    udpError("control-mode=auto", "control-mode");
  });
});

describe("multicast (PROTOCOL.md section 9)", () => {
  it("derives the control address as the group's last byte + 1, same port", () => {
    const uri = udp("endpoint=224.0.1.1:40456|interface=192.168.1.0/24|ttl=4");
    expect(uri.multicast).toEqual({
      data: { host: "224.0.1.1", hostKind: "ipv4", port: 40456 },
      control: { host: "224.0.1.2", hostKind: "ipv4", port: 40456 },
    });
    expect(udp("endpoint=239.255.255.253:1").multicast?.control.host).toBe("239.255.255.254");
  });

  it("treats exactly 224.0.0.0/4 as multicast", () => {
    expect(udp("endpoint=223.255.255.255:1").multicast).toBeUndefined();
    expect(udp("endpoint=240.0.0.1:1").multicast).toBeUndefined();
    expect(udp("endpoint=224.0.0.1:1").multicast).toBeDefined();
    expect(udp("endpoint=localhost:1").multicast).toBeUndefined();
  });

  it("refuses an even group address and one ending in 255", () => {
    expect(udpError("endpoint=224.0.1.2:40456", "endpoint").message).toContain("odd");
    expect(udpError("endpoint=224.0.1.255:40456", "endpoint").message).toContain("255");
  });
});

describe("sizes: mtu, term-length, rcv-wnd, so-sndbuf, so-rcvbuf", () => {
  it("mtu: 64 and 65504 are the bounds, multiples of 32, k suffix accepted", () => {
    expect(udp("mtu=64").mtuBytes).toBe(64);
    expect(udp("mtu=65504").mtuBytes).toBe(65504);
    expect(udp("mtu=1408").mtuBytes).toBe(1408);
    expect(udp("mtu=8k").mtuBytes).toBe(8192);
    udpError("mtu=32", "mtu");
    udpError("mtu=65536", "mtu");
    udpError("mtu=65505", "mtu");
    udpError("mtu=1409", "mtu");
    udpError("mtu=0", "mtu");
    udpError("mtu=-64", "mtu");
    udpError("mtu=1.5k", "mtu");
  });

  it("term-length: powers of two from 64k to 1g", () => {
    expect(udp("term-length=64k").termLengthBytes).toBe(65536);
    expect(udp("term-length=65536").termLengthBytes).toBe(65536);
    expect(udp("term-length=16m").termLengthBytes).toBe(16 * 1024 * 1024);
    expect(udp("term-length=16M").termLengthBytes).toBe(16 * 1024 * 1024);
    expect(udp("term-length=1g").termLengthBytes).toBe(1024 ** 3);
    udpError("term-length=32k", "term-length");
    udpError("term-length=2g", "term-length");
    udpError("term-length=65537", "term-length");
    udpError("term-length=96k", "term-length");
    udpError("term-length=16x", "term-length");
    udpError("term-length=99999999999999999999", "term-length");
  });

  it("rcv-wnd: 1 .. 2^31 - 1; socket buffers 0 .. 2^31 - 1", () => {
    expect(udp("rcv-wnd=128k").receiverWindowBytes).toBe(131072);
    expect(udp("rcv-wnd=1").receiverWindowBytes).toBe(1);
    expect(udp("rcv-wnd=2147483647").receiverWindowBytes).toBe(2147483647);
    udpError("rcv-wnd=0", "rcv-wnd");
    udpError("rcv-wnd=2g", "rcv-wnd");
    expect(udp("so-sndbuf=0|so-rcvbuf=2147483647")).toMatchObject({ socketSndbufBytes: 0, socketRcvbufBytes: 2147483647 });
    expect(udp("so-sndbuf=2m|so-rcvbuf=256k")).toMatchObject({ socketSndbufBytes: 2 * 1024 * 1024, socketRcvbufBytes: 262144 });
    udpError("so-sndbuf=2147483648", "so-sndbuf");
    udpError("so-rcvbuf=2g", "so-rcvbuf");
    udpError("so-rcvbuf=big", "so-rcvbuf");
  });
});

describe("start position: init-term-id, term-id, term-offset", () => {
  it("parses the three together", () => {
    expect(udp("init-term-id=-5|term-id=7|term-offset=1024").initialPosition).toEqual({ initTermId: -5, termId: 7, termOffset: 1024 });
    expect(udp("init-term-id=-2147483648|term-id=-1|term-offset=0").initialPosition).toEqual({ initTermId: -2147483648, termId: -1, termOffset: 0 });
  });

  it("requires all three, naming a given one and listing the missing ones", () => {
    expect(udpError("init-term-id=1", "init-term-id").message).toContain("missing: term-id, term-offset");
    expect(udpError("term-id=1|term-offset=0", "term-id").message).toContain("missing: init-term-id");
    udpError("term-offset=0", "term-offset");
  });

  it("ids are i32", () => {
    udp("init-term-id=2147483647|term-id=2147483647|term-offset=0");
    udpError("init-term-id=2147483648|term-id=0|term-offset=0", "init-term-id");
    udpError("init-term-id=0|term-id=-2147483649|term-offset=0", "term-id");
    udpError("init-term-id=x|term-id=0|term-offset=0", "init-term-id");
  });

  it("term-id - init-term-id, with i32 wraparound, must be 0 .. 2^31 - 1", () => {
    expect(udp("init-term-id=2147483647|term-id=-2147483648|term-offset=0").initialPosition?.termId).toBe(-2147483648); // wraps: distance 1
    udp("init-term-id=-2147483648|term-id=-1|term-offset=0"); // distance 2^31 - 1
    expect(udpError("init-term-id=-2147483648|term-id=0|term-offset=0", "term-id").message).toContain("2^31 - 1"); // distance 2^31
    udpError("init-term-id=5|term-id=4|term-offset=0", "term-id");
  });

  it("term-offset: 0 .. term-length, a multiple of 32", () => {
    expect(udp("term-length=64k|init-term-id=0|term-id=0|term-offset=65536").initialPosition?.termOffset).toBe(65536);
    udpError("term-length=64k|init-term-id=0|term-id=0|term-offset=65568", "term-offset");
    udpError("init-term-id=0|term-id=0|term-offset=33", "term-offset");
    udpError("init-term-id=0|term-id=0|term-offset=-32", "term-offset");
    expect(udp("init-term-id=0|term-id=0|term-offset=1073741824").initialPosition?.termOffset).toBe(1073741824);
    udpError("init-term-id=0|term-id=0|term-offset=1073741856", "term-offset");
  });
});

describe("numbers, booleans and names", () => {
  it("session-id: any i32; tag: refused", () => {
    expect(udp("session-id=-2147483648").sessionId).toBe(-2147483648);
    expect(udp("session-id=2147483647").sessionId).toBe(2147483647);
    udpError("session-id=2147483648", "session-id");
    udpError("session-id=-2147483649", "session-id");
    expect(udpError("session-id=tag:5", "session-id").message).toContain("tag");
    udpError("session-id=1e3", "session-id");
  });

  it("ttl: 0 .. 255", () => {
    expect(udp("ttl=0").ttl).toBe(0);
    expect(udp("ttl=255").ttl).toBe(255);
    udpError("ttl=256", "ttl");
    udpError("ttl=-1", "ttl");
  });

  it("max-resend: 1 .. 256", () => {
    expect(udp("max-resend=1").maxResend).toBe(1);
    expect(udp("max-resend=256").maxResend).toBe(256);
    udpError("max-resend=0", "max-resend");
    udpError("max-resend=257", "max-resend");
  });

  it("booleans are exactly true or false", () => {
    expect(udp("reliable=false|sparse=true|eos=false|tether=true|group=false")).toEqual({
      media: "udp",
      reliable: false,
      sparse: true,
      eos: false,
      tether: true,
      group: false,
    });
    for (const name of ["reliable", "sparse", "eos", "tether", "group"]) {
      expect(udpError(`${name}=yes`, name).message).toContain("true or false");
      udpError(`${name}=TRUE`, name);
    }
  });

  it("cc: static, cubic and the reserved bbr", () => {
    expect(udp("cc=static").congestionControl).toBe("static");
    expect(udp("cc=cubic").congestionControl).toBe("cubic");
    expect(udp("cc=bbr").congestionControl).toBe("bbr");
    udpError("cc=reno", "cc");
  });

  it("gtag: a canonical i64 decimal string, both ends of the range", () => {
    expect(udp("gtag=42").groupTag).toBe("42");
    expect(udp("gtag=-0007").groupTag).toBe("-7");
    expect(udp("gtag=-0").groupTag).toBe("0");
    expect(udp("gtag=9223372036854775807").groupTag).toBe("9223372036854775807");
    expect(udp("gtag=-9223372036854775808").groupTag).toBe("-9223372036854775808");
    udpError("gtag=9223372036854775808", "gtag");
    udpError("gtag=-9223372036854775809", "gtag");
    udpError("gtag=0x10", "gtag");
  });
});

describe("durations: linger, nak-delay", () => {
  it("accept ns (default), us, ms and s", () => {
    expect(udp("linger=5s").lingerNs).toBe(5_000_000_000);
    expect(udp("linger=100ms").lingerNs).toBe(100_000_000);
    expect(udp("linger=0").lingerNs).toBe(0);
    expect(udp("nak-delay=100us").nakDelayNs).toBe(100_000);
    expect(udp("nak-delay=250").nakDelayNs).toBe(250);
    expect(udp("nak-delay=250ns").nakDelayNs).toBe(250);
    expect(udp("nak-delay=2MS").nakDelayNs).toBe(2_000_000);
  });

  it("refuse bad units, signs and fractions", () => {
    expect(udpError("linger=5m", "linger").message).toContain("ns, us, ms or s");
    udpError("linger=-1s", "linger");
    udpError("nak-delay=1.5ms", "nak-delay");
    udpError("nak-delay=ms", "nak-delay");
    udpError("linger=99999999999s", "linger");
  });
});

describe("fc (PROTOCOL.md section 7)", () => {
  it("parses max, min and tagged with their arguments", () => {
    expect(udp("fc=max").flowControl).toEqual({ strategy: "max" });
    expect(udp("fc=min").flowControl).toEqual({ strategy: "min" });
    expect(udp("fc=min,t:5s").flowControl).toEqual({ strategy: "min", receiverTimeoutNs: 5_000_000_000 });
    expect(udp("fc=tagged").flowControl).toEqual({ strategy: "tagged" });
    expect(udp("fc=tagged,g:123").flowControl).toEqual({ strategy: "tagged", groupTag: "123" });
    expect(udp("fc=tagged,g:-9/3,t:250ms").flowControl).toEqual({ strategy: "tagged", groupTag: "-9", groupMinSize: 3, receiverTimeoutNs: 250_000_000 });
    expect(udp("fc=tagged,t:1s,g:/2").flowControl).toEqual({ strategy: "tagged", groupMinSize: 2, receiverTimeoutNs: 1_000_000_000 });
  });

  it("refuses, naming fc, with a reason for each mistake", () => {
    const cases: Array<[string, string]> = [
      ["fc=maximum", "unknown strategy"],
      ["fc=min,g:1", "only with a minimum group size"],
      ["fc=min,g:/x", "minimum group size"],
      ["fc=min,t:5s,t:1s", "more than once"],
      ["fc=tagged,g:1,g:2", "more than once"],
      ["fc=min,t:0s", "greater than zero"],
      ["fc=min,t:soon", "receiver timeout"],
      ["fc=tagged,g:", "needs a group tag"],
      ["fc=tagged,g:abc", "group tag"],
      ["fc=tagged,g:1/-1", "minimum group size"],
      ["fc=tagged,g:1/2147483648", "minimum group size"],
      ["fc=min,x:1", "unknown argument"],
      ["fc=min,", "unknown argument"],
    ];
    for (const [param, reason] of cases) {
      expect(udpError(param, "fc").message, param).toContain(reason);
    }
    // 't:5' is 5 ns: valid, if short. Only zero is refused.
    expect(udp("fc=min,t:5").flowControl).toEqual({ strategy: "min", receiverTimeoutNs: 5 });
    expect(udp("fc=tagged,g:1/2147483647").flowControl).toEqual({ strategy: "tagged", groupTag: "1", groupMinSize: 2147483647 });
    expect(udp("fc=tagged,g:1/0").flowControl).toEqual({ strategy: "tagged", groupTag: "1", groupMinSize: 0 });
  });

  it("takes Aeron's forms fc=min,g:/N (tag ignored) and fc=max with arguments (ignored)", () => {
    expect(udp("fc=min,g:/3").flowControl).toEqual({ strategy: "min", groupMinSize: 3 });
    expect(udp("fc=min,g:7/2,t:1s").flowControl).toEqual({ strategy: "min", groupMinSize: 2, receiverTimeoutNs: 1e9 });
    expect(udp("fc=max,t:5s").flowControl).toEqual({ strategy: "max" });
    expect(udp("fc=max,g:1/2,anything").flowControl).toEqual({ strategy: "max" });
    expect(formatChannelUri(udp("fc=min,g:/3,t:2s"))).toBe("aeron:udp?fc=min,g:/3,t:2s");
  });
});

describe("formatChannelUri", () => {
  it("writes canonical order and largest exact units", () => {
    const text = "aeron:udp?max-resend=4|linger=5000ms|term-length=16777216|endpoint=224.0.1.1:40456|mtu=8192|fc=tagged,t:5s,g:7/2|rcv-wnd=1000";
    expect(formatChannelUri(parseChannelUri(text))).toBe(
      "aeron:udp?endpoint=224.0.1.1:40456|mtu=8k|term-length=16m|fc=tagged,g:7/2,t:5s|rcv-wnd=1000|linger=5s|max-resend=4",
    );
    expect(formatChannelUri(parseChannelUri("aeron:ipc"))).toBe("aeron:ipc");
    expect(formatChannelUri(parseChannelUri("aeron:udp?linger=0|nak-delay=1500"))).toBe("aeron:udp?linger=0ns|nak-delay=1500ns");
  });
});

describe("negative zero", () => {
  // Found by the round-trip property (seed 1508481176): Number("-0") is -0, which formats as "0".
  it('reads "-0" as 0, as Java\'s Integer.parseInt does, so the URI round-trips', () => {
    const uri = parseChannelUri("aeron:ipc?init-term-id=-0|term-id=0|term-offset=0|session-id=-0");
    expect(Object.is(uri.initialPosition?.initTermId, 0)).toBe(true);
    expect(Object.is(uri.sessionId, 0)).toBe(true);
    expect(parseChannelUri(formatChannelUri(uri))).toEqual(uri);
  });
});
