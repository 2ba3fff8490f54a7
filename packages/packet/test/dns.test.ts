import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { requireTools, tsharkInfo } from '@ovnts/testkit';
import {
  DnsClass,
  dnsLen,
  DnsNameError,
  DnsType,
  DnsView,
  emitDns,
  encodeDnsName,
  formatDns,
  fromHex,
  parseDns,
  parseIpv4,
  parseIpv6,
  readDnsName,
  skipDnsName,
  WireErrorCode,
  type DnsRecord,
  type DnsRepr,
} from '@ovnts/packet';

// Ethernet + IPv4 + UDP + DNS frames, hand-built and decoded by tshark 4.0.17 (summaries
// below). Names are compressed as a resolver writes them: the CNAME data and the A/AAAA owners
// point into the question, the NS owner into the PTR question, the NS data into the PTR data.
// The DNS message starts at byte 42.
const FRAMES = {
  query:
    '00000000000200000000000108004500003900000000401166b20a0000010a0000029c40003500256d8a123401000001000000000000076578616d706c6503636f6d0000010001',
  response:
    '00000000000200000000000108004500008200000000401166690a0000020a00000100359c40006eaf5e12348180000100030000000103777777076578616d706c6503636f6d0000010001c00c000500010000012c0002c010c0100001000100000e1000045db8d822c010001c000100000e10001026062800022000010248189325c819460000291000000000000000',
  ptr: '00000000000200000000000108004500007300000000401166780a0000020a00000100359c40005f4b77abcd8580000100010001000001310130013002313007696e2d61646472046172706100000c0001c00c000c000100000078001204686f7374076578616d706c6503636f6d00c0120002000100000e100006036e7331c038',
} as const;
type Name = keyof typeof FRAMES;
const frame = (n: Name) => fromHex(FRAMES[n]);
const msg = (n: Name) => frame(n).subarray(42);
const names = Object.keys(FRAMES) as Name[];

const flags0 = { qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, z: 0, rcode: 0 };
const IN = DnsClass.IN;
const REPRS: Record<Name, DnsRepr> = {
  query: {
    id: 0x1234,
    ...flags0,
    questions: [{ name: 'example.com', type: DnsType.A, class: IN }],
    answers: [],
    authorities: [],
    additionals: [],
  },
  response: {
    id: 0x1234,
    ...flags0,
    qr: true,
    ra: true,
    questions: [{ name: 'www.example.com', type: DnsType.A, class: IN }],
    answers: [
      { name: 'www.example.com', type: DnsType.CNAME, class: IN, ttl: 300, data: { kind: 'name', name: 'example.com' } },
      { name: 'example.com', type: DnsType.A, class: IN, ttl: 3600, data: { kind: 'a', address: parseIpv4('93.184.216.34') } },
      {
        name: 'example.com',
        type: DnsType.AAAA,
        class: IN,
        ttl: 3600,
        data: { kind: 'aaaa', address: parseIpv6('2606:2800:220:1:248:1893:25c8:1946') },
      },
    ],
    authorities: [],
    additionals: [{ name: '', type: DnsType.OPT, class: 4096, ttl: 0, data: { kind: 'raw', bytes: new Uint8Array(0) } }],
  },
  ptr: {
    id: 0xabcd,
    ...flags0,
    qr: true,
    aa: true,
    ra: true,
    questions: [{ name: '1.0.0.10.in-addr.arpa', type: DnsType.PTR, class: IN }],
    answers: [{ name: '1.0.0.10.in-addr.arpa', type: DnsType.PTR, class: IN, ttl: 120, data: { kind: 'name', name: 'host.example.com' } }],
    authorities: [{ name: '10.in-addr.arpa', type: DnsType.NS, class: IN, ttl: 3600, data: { kind: 'name', name: 'ns1.example.com' } }],
    additionals: [],
  },
};
const SUMMARIES: Record<Name, string> = {
  query: 'Standard query 0x1234 A example.com',
  response: 'Standard query response 0x1234 A www.example.com CNAME example.com A 93.184.216.34 AAAA 2606:2800:220:1:248:1893:25c8:1946 OPT',
  ptr: 'Standard query response 0xabcd PTR 1.0.0.10.in-addr.arpa PTR host.example.com NS ns1.example.com',
};

/** A header with the given counts, then `body`. */
function message(body: number[] | Uint8Array, qd = 0, an = 0): Uint8Array {
  const b = new Uint8Array(12 + body.length);
  b[5] = qd;
  b[7] = an;
  b.set(body, 12);
  return b;
}
function code(b: Uint8Array): number | true {
  const r = parseDns(b);
  return r.ok ? true : r.error.code;
}

describe('dns', () => {
  it('deconstructs the response header through the view', () => {
    const b = msg('response');
    expect(DnsView.check(b, 0, b.length)).toBe(WireErrorCode.Ok);
    const v = new DnsView().reset(b, 0, b.length);
    expect([v.id, v.flags, v.qr, v.opcode, v.aa, v.tc, v.rd, v.ra, v.z, v.rcode]).toEqual([
      0x1234, 0x8180, true, 0, false, false, true, true, 0, 0,
    ]);
    expect([v.qdcount, v.ancount, v.nscount, v.arcount]).toEqual([1, 3, 0, 1]);
    expect(v.questionsOffset).toBe(12);
    expect(v.firstQuestionType).toBe(DnsType.A);
    expect(skipDnsName(b, 0, b.length, 12)).toBe(29);
    expect(skipDnsName(b, 0, b.length, 33)).toBe(35); // the compressed CNAME owner
    expect(readDnsName(b, 0, b.length, 45)).toEqual({ ok: true, value: { name: 'example.com', next: 47 } });
  });

  it('constructs the query through the view setters', () => {
    const b = new Uint8Array(msg('query').length);
    const v = new DnsView().reset(b, 0, b.length);
    v.id = 0x1234;
    v.flags = 0x0100;
    v.qdcount = 1;
    b.set(encodeDnsName('example.com'), v.questionsOffset);
    b.set([0, 1, 0, 1], 25);
    expect(b).toEqual(msg('query'));
  });

  it('parses, emits (compressing as the original) and formats the canonical messages', () => {
    for (const n of names) {
      expect(parseDns(msg(n)), n).toEqual({ ok: true, value: REPRS[n] });
      expect(dnsLen(REPRS[n])).toBe(msg(n).length);
      const out = new Uint8Array(dnsLen(REPRS[n]));
      expect(emitDns(REPRS[n], out)).toBe(msg(n).length);
      expect(out, n).toEqual(msg(n));
      expect(formatDns(REPRS[n])).toBe(SUMMARIES[n]);
    }
  });

  const tshark = requireTools('tshark summaries', ['tshark'], 'apt-get install -y tshark');
  it.skipIf(tshark.skip)('emitted messages read back in tshark with our summaries', () => {
    const frames = names.map((n) => {
      const f = frame(n);
      f.fill(0, 42);
      emitDns(REPRS[n], f, 42);
      return f;
    });
    expect(tsharkInfo(frames)).toEqual(names.map((n) => SUMMARIES[n]));
  });

  it('reports Truncated at every shorter length', () => {
    for (const n of names) {
      const b = msg(n);
      for (let k = 0; k < b.length; k++) expect(code(b.subarray(0, k)), `${n} at ${k}`).toBe(WireErrorCode.Truncated);
    }
  });

  describe('hostile compression', () => {
    it('self-pointing pointer: PointerLoop', () => {
      expect(code(message([0xc0, 12, 0, 1, 0, 1], 1))).toBe(WireErrorCode.PointerLoop);
    });

    it('two pointers pointing at each other: PointerLoop', () => {
      // Question 1 at 12 points at 14, question 2 at 14 points back at 12.
      expect(code(message([0xc0, 14, 0xc0, 12, 0, 1, 0, 1], 1))).toBe(WireErrorCode.PointerLoop);
      // Reached through a valid backward jump: a name at 20 jumps to 12 ("a", then a pointer
      // to 16), and 16 ("b", then a pointer back to 12) would loop.
      const b = fromHex('00'.repeat(12) + '0161c010 0162c00c c00c');
      expect(skipDnsName(b, 0, b.length, 20)).toBe(-WireErrorCode.PointerLoop);
    });

    it('forward pointer: PointerLoop', () => {
      expect(code(message([0xc0, 16, 0, 1, 0, 1, 0, 0, 0, 0], 1))).toBe(WireErrorCode.PointerLoop);
      // A pointer into the label run it interrupts (a.a.a.a...).
      expect(code(message([1, 0x61, 0xc0, 12, 0, 1, 0, 1], 1))).toBe(WireErrorCode.PointerLoop);
    });

    it('pointer outside the message: PointerLoop (it can only point forward of the name)', () => {
      expect(code(message([0xff, 0xff, 0, 1, 0, 1], 1))).toBe(WireErrorCode.PointerLoop);
    });

    it('long chains of backward pointers: TooDeep after DNS_MAX_POINTERS jumps', () => {
      // A raw record whose data is a root label and 200 pointers, each to the one before;
      // then a record named by the last pointer.
      const chain: number[] = [0];
      for (let i = 1; i <= 200; i++) {
        // The root label is at 23, pointer i at 22 + 2i.
        const target = i === 1 ? 23 : 22 + 2 * (i - 1);
        chain.push(0xc0 | (target >> 8), target & 0xff);
      }
      // Record 1: root owner (1 byte), type 99, class, ttl, rdlen, then the chain from offset 23.
      const r1 = [0, 0, 99, 0, 1, 0, 0, 0, 0, chain.length >> 8, chain.length & 0xff, ...chain];
      const lastPtr = 23 + chain.length - 2;
      const r2 = [0xc0 | (lastPtr >> 8), lastPtr & 0xff, 0, 99, 0, 1, 0, 0, 0, 0, 0, 0];
      expect(code(message([...r1, ...r2], 0, 2))).toBe(WireErrorCode.TooDeep);
      // 100 jumps is within the limit.
      const mid = 22 + 2 * 100;
      const r2ok = [0xc0 | (mid >> 8), mid & 0xff, 0, 99, 0, 1, 0, 0, 0, 0, 0, 0];
      expect(code(message([...r1, ...r2ok], 0, 2))).toBe(true);
    });

    it('label over 63 bytes (top bits 01 or 10): BadValue', () => {
      expect(code(message([0x40, 0, 0, 1, 0, 1], 1))).toBe(WireErrorCode.BadValue);
      expect(code(message([0x80, 0, 0, 1, 0, 1], 1))).toBe(WireErrorCode.BadValue);
    });

    it('deep label chains: 255 bytes of name pass, 256 and more are BadLength', () => {
      const labels = (n: number) => Array.from({ length: n }, () => [1, 0x61]).flat();
      expect(code(message([...labels(127), 0, 0, 1, 0, 1], 1))).toBe(true);
      expect(code(message([...labels(128), 0, 0, 1, 0, 1], 1))).toBe(WireErrorCode.BadLength);
      // Over-long only through a pointer: 100 labels at 0, then 30 labels and a pointer to 0.
      const b = Uint8Array.from([...labels(100), 0, ...labels(30), 0xc0, 0]);
      expect(skipDnsName(b, 0, b.length, 201)).toBe(-WireErrorCode.BadLength);
    });

    it('a name that runs out of bytes: Truncated', () => {
      expect(code(message([5, 0x61, 0x62], 1))).toBe(WireErrorCode.Truncated);
      expect(code(message([0xc0], 1))).toBe(WireErrorCode.Truncated);
    });

    it('record data that does not match its type: BadLength', () => {
      // An A record with 3 bytes of data.
      expect(code(message([0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 3, 1, 2, 3], 0, 1))).toBe(WireErrorCode.BadLength);
      // A CNAME whose name ends before its rdlength.
      expect(code(message([0, 0, 5, 0, 1, 0, 0, 0, 0, 0, 3, 0, 0, 0], 0, 1))).toBe(WireErrorCode.BadLength);
    });
  });

  describe('names', () => {
    it('escapes label bytes that are not plain text, and encodes them back', () => {
      const b = message([3, 0x61, 0x2e, 0x62, 2, 0x5c, 0x20, 1, 0, 0, 0, 1, 0, 1], 1);
      const r = parseDns(b);
      expect(r.ok && r.value.questions[0]!.name).toBe('a\\.b.\\\\\\032.\\000');
      if (r.ok) {
        const out = new Uint8Array(dnsLen(r.value));
        emitDns(r.value, out);
        expect(out).toEqual(b);
      }
    });

    it('rejects names it cannot encode with DnsNameError', () => {
      const q = (name: string): DnsRepr => ({ ...REPRS.query, questions: [{ name, type: 1, class: 1 }] });
      expect(() => dnsLen(q('a..b'))).toThrow(DnsNameError);
      expect(() => dnsLen(q('x'.repeat(64)))).toThrow(DnsNameError);
      expect(() => dnsLen(q(Array.from({ length: 128 }, () => 'a').join('.')))).toThrow(DnsNameError);
      expect(dnsLen(q(Array.from({ length: 127 }, () => 'a').join('.')))).toBe(12 + 255 + 4);
      expect(dnsLen(q('example.com.'))).toBe(dnsLen(q('example.com')));
      expect(dnsLen(q('.'))).toBe(12 + 1 + 4);
    });

    it('compresses repeated suffixes, byte-exact (case-sensitive)', () => {
      const rec = (name: string): DnsRecord => ({ name, type: 1, class: 1, ttl: 0, data: { kind: 'a', address: 0 } });
      const r: DnsRepr = { ...REPRS.query, answers: [rec('a.example.com'), rec('b.example.com'), rec('b.example.com'), rec('B.EXAMPLE.COM')] };
      const out = new Uint8Array(dnsLen(r));
      emitDns(r, out);
      // question 13 + 4; then "a" + ptr (4) + 14; "b" + ptr (4) + 14; ptr (2) + 14; in full (15) + 14.
      expect(out.length).toBe(12 + 17 + (4 + 14) + (4 + 14) + (2 + 14) + (15 + 14));
      expect(parseDns(out)).toEqual({ ok: true, value: r });
    });
  });

  const label = fc.constantFrom('a', 'b', 'www', 'example', 'com', 'Ex', 'x\\.y', '\\000\\255', 'in-addr', 'arpa');
  const dname = fc.array(label, { maxLength: 5 }).map((ls) => ls.join('.'));
  const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
  const u16 = fc.integer({ min: 0, max: 0xffff });
  const record: fc.Arbitrary<DnsRecord> = fc.oneof(
    fc.record({ name: dname, type: fc.constant(1), class: u16, ttl: u32, data: fc.record({ kind: fc.constant('a' as const), address: u32 }) }),
    fc.record({
      name: dname,
      type: fc.constant(28),
      class: u16,
      ttl: u32,
      data: fc.record({ kind: fc.constant('aaaa' as const), address: fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }) }),
    }),
    fc.record({ name: dname, type: fc.constantFrom(2, 5, 12), class: u16, ttl: u32, data: fc.record({ kind: fc.constant('name' as const), name: dname }) }),
    fc.record({
      name: dname,
      type: fc.constantFrom(6, 15, 16, 33, 41, 99, 65280),
      class: u16,
      ttl: u32,
      data: fc.record({ kind: fc.constant('raw' as const), bytes: fc.uint8Array({ maxLength: 12 }) }),
    }),
  );
  const arbRepr: fc.Arbitrary<DnsRepr> = fc.record({
    id: u16,
    qr: fc.boolean(),
    opcode: fc.integer({ min: 0, max: 15 }),
    aa: fc.boolean(),
    tc: fc.boolean(),
    rd: fc.boolean(),
    ra: fc.boolean(),
    z: fc.integer({ min: 0, max: 7 }),
    rcode: fc.integer({ min: 0, max: 15 }),
    questions: fc.array(fc.record({ name: dname, type: u16, class: u16 }), { maxLength: 3 }),
    answers: fc.array(record, { maxLength: 4 }),
    authorities: fc.array(record, { maxLength: 2 }),
    additionals: fc.array(record, { maxLength: 2 }),
  });

  it('round-trips any message, also at an offset', () => {
    fc.assert(
      fc.property(arbRepr, fc.nat(16), (r, at) => {
        const n = dnsLen(r);
        const b = new Uint8Array(at + n);
        expect(emitDns(r, b, at)).toBe(n);
        expect(parseDns(b, at)).toEqual({ ok: true, value: r });
        expect(formatDns(r)).toMatch(/0x[0-9a-f]{4}/);
      }),
    );
  });

  it('never throws on arbitrary bytes, and parse agrees with check', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 128 }), (b) => {
        const r = parseDns(b);
        expect(r.ok).toBe(DnsView.check(b, 0, b.length) === WireErrorCode.Ok);
      }),
    );
    // Bodies full of pointers and small labels behind a header that counts them.
    const soup = fc.array(fc.oneof(fc.constant(0xc0), fc.integer({ min: 0, max: 80 }), fc.constant(0)), { maxLength: 120 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 }), soup, (qd, an, body) => {
        const b = message(body, qd, an);
        const r = parseDns(b);
        if (r.ok) {
          expect(typeof formatDns(r.value)).toBe('string');
          expect(r.value.questions.length).toBe(qd);
        }
      }),
    );
  });

  it('never throws on mutations of the canonical messages', () => {
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.array(fc.tuple(fc.nat(200), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), (n, edits) => {
        const b = msg(n).slice();
        for (const [i, v] of edits) b[i % b.length] = v;
        const r = parseDns(b);
        if (r.ok) {
          // What parses re-emits to something that parses to the same Repr.
          const out = new Uint8Array(dnsLen(r.value));
          emitDns(r.value, out);
          expect(parseDns(out)).toEqual(r);
        }
      }),
    );
  });
});
