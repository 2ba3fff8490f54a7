/**
 * Connection storage as a structure of typed arrays indexed by a connection id, so a million
 * connections are a few dozen flat buffers instead of a million objects (no per-connection GC
 * cost, about 150 bytes each). Ids are recycled through a free stack. Each connection keeps its
 * original-direction and reply-direction tuples (11 words each, see `T_*`), its expiry time,
 * mark, 128-bit label, the two TCP peers (or the UDP/ICMP state in peer 0), the NAT action,
 * the timeout-policy id and the zone-limit admission stamp.
 */

/** Words of one tuple: meta, source address (4), destination address (4), source port word, destination port word. */
export const TUPLE_WORDS = 11;
/** Offset of the meta word: `zone << 16 | ip_proto << 8 | (IPv6 ? 1 : 0)`. */
export const T_META = 0;
/** Offset of the source address (IPv4 in the first lane, the others zero). */
export const T_SRC = 1;
/** Offset of the destination address. */
export const T_DST = 5;
/** Offset of the source port word: `port << 16`, or for ICMP `id << 16 | type << 8 | code`. */
export const T_SPORT = 9;
/** Offset of the destination port word. */
export const T_DPORT = 10;
/** Words per connection in `tuples` (original direction, then reply direction). */
export const CONN_TUPLE_WORDS = 2 * TUPLE_WORDS;

/** `flags` bit: the slot holds a live connection. */
export const F_USED = 0x01;

/** The typed arrays behind all connections. */
export class ConnStore {
  /** Capacity in connections. */
  cap: number;
  /** Two tuples per connection (`CONN_TUPLE_WORDS`). */
  tuples: Uint32Array;
  /** Expiry time in ms (the connection is dead when `now >= expiration`, as in OVS). */
  expiration: Float64Array;
  /** ct_mark. */
  mark: Uint32Array;
  /** ct_label as 4 lanes, most significant first. */
  label: Uint32Array;
  /** TCP `seqlo` per peer (index `2 * id + peer`). */
  seqlo: Uint32Array;
  /** TCP `seqhi` per peer. */
  seqhi: Uint32Array;
  /** Per peer: `max_win << 16 | wscale << 8 | state` (peer 0's state is the UDP/ICMP state). */
  pinfo: Uint32Array;
  /** `F_USED` plus the NAT action (`NatAction`) shifted left by 1. */
  flags: Uint8Array;
  /** Timeout-policy id. */
  tp: Uint32Array;
  /** Zone-limit admission stamp: the limit's sequence number + 1, or 0 when not counted. */
  admit: Uint32Array;
  private freeIds: Int32Array;
  private nFree = 0;
  private next = 0;

  constructor(initial = 1024) {
    this.cap = Math.max(16, initial);
    this.tuples = new Uint32Array(this.cap * CONN_TUPLE_WORDS);
    this.expiration = new Float64Array(this.cap);
    this.mark = new Uint32Array(this.cap);
    this.label = new Uint32Array(this.cap * 4);
    this.seqlo = new Uint32Array(this.cap * 2);
    this.seqhi = new Uint32Array(this.cap * 2);
    this.pinfo = new Uint32Array(this.cap * 2);
    this.flags = new Uint8Array(this.cap);
    this.tp = new Uint32Array(this.cap);
    this.admit = new Uint32Array(this.cap);
    this.freeIds = new Int32Array(this.cap);
  }

  /** Highest id ever handed out + 1 (ids below it may be free). */
  get highWater(): number {
    return this.next;
  }

  /** Take a zeroed id. */
  alloc(): number {
    let id: number;
    if (this.nFree > 0) id = this.freeIds[--this.nFree]!;
    else {
      if (this.next === this.cap) this.grow(this.cap * 2);
      id = this.next++;
    }
    this.flags[id] = F_USED;
    return id;
  }

  /** Return an id (its fields are zeroed). */
  free(id: number): void {
    this.flags[id] = 0;
    this.tuples.fill(0, id * CONN_TUPLE_WORDS, (id + 1) * CONN_TUPLE_WORDS);
    this.expiration[id] = 0;
    this.mark[id] = 0;
    this.label.fill(0, id * 4, id * 4 + 4);
    this.seqlo[2 * id] = this.seqlo[2 * id + 1] = 0;
    this.seqhi[2 * id] = this.seqhi[2 * id + 1] = 0;
    this.pinfo[2 * id] = this.pinfo[2 * id + 1] = 0;
    this.tp[id] = 0;
    this.admit[id] = 0;
    this.freeIds[this.nFree++] = id;
  }

  /** Total bytes of the backing arrays. */
  byteLength(): number {
    return (
      this.tuples.byteLength + this.expiration.byteLength + this.mark.byteLength + this.label.byteLength +
      this.seqlo.byteLength + this.seqhi.byteLength + this.pinfo.byteLength + this.flags.byteLength +
      this.tp.byteLength + this.admit.byteLength + this.freeIds.byteLength
    );
  }

  private grow(cap: number): void {
    const g32 = (a: Uint32Array, per: number): Uint32Array => {
      const b = new Uint32Array(cap * per);
      b.set(a);
      return b;
    };
    this.tuples = g32(this.tuples, CONN_TUPLE_WORDS);
    const e = new Float64Array(cap);
    e.set(this.expiration);
    this.expiration = e;
    this.mark = g32(this.mark, 1);
    this.label = g32(this.label, 4);
    this.seqlo = g32(this.seqlo, 2);
    this.seqhi = g32(this.seqhi, 2);
    this.pinfo = g32(this.pinfo, 2);
    const f = new Uint8Array(cap);
    f.set(this.flags);
    this.flags = f;
    this.tp = g32(this.tp, 1);
    this.admit = g32(this.admit, 1);
    const fr = new Int32Array(cap);
    fr.set(this.freeIds);
    this.freeIds = fr;
    this.cap = cap;
  }
}
