import { describe, expect, it } from 'vitest';
import { GroupTable, W, TextParseError, dpHashTable, hashBytes, hashInt, jhashBytes, parseGroupProps, formatGroupProps } from '@ovnts/openflow';

describe('OVS hash primitives', () => {
  it('hash_int / hash_bytes / jhash_bytes known values (computed by OVS 3.1 x86-64 without SSE4.2)', () => {
    // (lib/hash.h's comment that hash_boolean's constants are hash_int(1, 0) and hash_int(2, 0) is stale;
    // the bucket choices in stateful-ovs.test.ts check hash_int against OVS itself.)
    expect(hashInt(1, 0)).toBe(hashInt(1, 0) >>> 0);
    expect(hashInt(1, 0)).not.toBe(hashInt(2, 0));
    expect(hashBytes(new Uint8Array(0), 0, 0)).toBe(0);
    expect(jhashBytes(new Uint8Array(0), 0, 0)).toBe(0xdeadbeef);
  });
});

describe('dp_hash table (Webster)', () => {
  it('spreads 16 slots in proportion to the weights; refuses tables over 256 values', () => {
    const b = (w: number[]) => w.map((weight, id) => ({ id, weight, watchPort: 0xffff, watchGroup: 0xffffffff }));
    const map = dpHashTable(b([2, 1, 7]))!;
    expect(map.length).toBe(16);
    const counts = [0, 0, 0];
    for (const i of map) counts[i]!++;
    expect(counts).toEqual([3, 2, 11]);
    expect(dpHashTable(b([1, 300]))).toBeNull();
    expect(dpHashTable(b([0, 0]))).toBeNull();
    expect(dpHashTable(b([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]))!.length).toBe(32);
  });
});

describe('GroupTable', () => {
  it('parses OpenFlow 1.5 select properties and picks the method OVS picks', () => {
    const g = parseGroupProps('group_id=2,type=select,selection_method=hash,fields(ip_src,tcp_dst,ip_dst=255.255.0.0),bucket=output:1,bucket=output:2');
    expect(g.props.fields.map((f) => f.field.name)).toEqual(['ip_src', 'tcp_dst', 'ip_dst']);
    expect(g.group.buckets.map((x) => x.weight)).toEqual([1, 1]);
    // dump-groups lists the fields in OVS's field-id order, not the order given (checked against
    // ovn-controller's load balancer groups in fixtures/chassis/ls-lb.*.groups).
    expect(formatGroupProps(g.props)).toBe(',selection_method=hash,fields(ip_src,ip_dst=255.255.0.0,tcp_dst)');
    expect(() => parseGroupProps('group_id=2,type=select,fields(ip_src),bucket=output:1')).toThrow(TextParseError);
    expect(() => parseGroupProps('group_id=2,type=select,selection_method=hash,fields(ip_src=0.0.0.0),bucket=output:1')).toThrow(TextParseError);
    const t = new GroupTable(() => true);
    expect(t.set('group_id=1,type=select,bucket=output:1,bucket=output:2').select!.method).toBe('dp_hash');
    expect(t.set('group_id=2,type=select,selection_method=hash,bucket=output:1').select!.method).toBe('default');
    expect(t.set('group_id=3,type=select,bucket=weight:1,actions=output:1,bucket=weight:300,actions=output:2').select!.method).toBe('default');
  });

  it('fast failover: first live bucket; watch_group chains; no live bucket -> nothing; counters', () => {
    const up = new Set([2, 3]);
    const t = new GroupTable((p) => up.has(p));
    t.set('group_id=10,type=ff,bucket=watch_port:1,actions=output:1,bucket=watch_port:2,actions=output:2');
    t.set('group_id=11,type=ff,bucket=watch_group:10,actions=group:10,bucket=watch_port:3,actions=output:3');
    const w = new Uint32Array(200);
    expect(t.choose(10, w)).toEqual([1]);
    expect(t.choose(11, w)).toEqual([0]);
    up.delete(2);
    expect(t.choose(10, w)).toEqual([]);
    expect(t.choose(11, w)).toEqual([1]);
    up.delete(3);
    expect(t.choose(11, w)).toEqual([]);
    expect(t.choose(99, w)).toBeUndefined();
    t.credit(11, null, 100); // no live bucket: nothing credited
    t.credit(10, 1, 100);
    expect(t.get(11)!.stats).toEqual({ packets: 0, bytes: 0 });
    expect(t.get(10)!.stats).toEqual({ packets: 1, bytes: 100 });
    expect(t.get(10)!.bucketStats).toEqual([{ packets: 0, bytes: 0 }, { packets: 1, bytes: 100 }]);
    t.set('group_id=12,type=all,bucket=output:1,bucket=output:2');
    t.credit(12, null, 10);
    expect(t.get(12)!.bucketStats).toEqual([{ packets: 1, bytes: 10 }, { packets: 1, bytes: 10 }]);
  });

  it('select never uses a weight-0 or dead bucket', () => {
    const up = new Set([1, 2, 3]);
    const t = new GroupTable((p) => up.has(p));
    t.set('group_id=1,type=select,bucket=weight:0,actions=output:1,bucket=watch_port:2,actions=output:2,bucket=watch_port:3,actions=output:3');
    const w = new Uint32Array(200);
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      w[W.dl_src + 1] = i * 7919;
      w[W.dl_dst + 1] = i;
      const c = t.choose(1, w)!;
      expect(c).toHaveLength(1);
      seen.add(c[0]!);
    }
    expect([...seen].sort()).toEqual([1, 2]);
    up.delete(2);
    for (let i = 0; i < 50; i++) {
      w[W.dl_src + 1] = i;
      expect(t.choose(1, w)).toEqual([2]);
    }
  });
});
