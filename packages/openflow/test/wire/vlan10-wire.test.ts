/**
 * OpenFlow 1.0's VLAN actions (OFPAT10_SET_VLAN_VID, OFPAT10_SET_VLAN_PCP) as OVS keeps them: "set,
 * pushing a tag if the flow has none there" (`mod_vlan_vid`/`mod_vlan_pcp`), resolved against the
 * flow's match when a flow mod is decoded, and written back as the one OpenFlow 1.0 action. The
 * differential with ovs-vswitchd is in ofctl-stats.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  OFPFC, OfpVersion, OpenFlowError, decodeActions, decodeFlowMod, encodeFlowMod, encodeInstructions, formatInstructions, frameMessage, parseFlow, type WireFlowMod,
} from '@ovnts/openflow';

function flowMod10(text: string): Uint8Array {
  const f = parseFlow(text);
  const fm: WireFlowMod = {
    command: OFPFC.ADD, cookie: 0n, cookieMask: 0n, tableId: 0, idleTimeout: 0, hardTimeout: 0, priority: f.priority, bufferId: 0xffff_ffff,
    outPort: 0xffff, outGroup: 0xffff_ffff, flags: [], importance: 0, match: f.match, instructions: f.instructions,
  };
  return encodeFlowMod(OfpVersion.OF10, 1, fm);
}

describe('OpenFlow 1.0 VLAN actions', () => {
  it('decode to a push where the flow has no VLAN, and to a plain set where it has one', () => {
    const cases: Array<[string, string]> = [
      ['in_port=1,actions=mod_vlan_vid:7,output:2', 'actions=push_vlan:0x8100,set_field:4103->vlan_vid,output:2'],
      ['in_port=1,actions=mod_vlan_pcp:3,mod_vlan_vid:5,output:2', 'actions=push_vlan:0x8100,set_field:3->vlan_pcp,set_field:4101->vlan_vid,output:2'],
      ['in_port=1,dl_vlan=4,actions=mod_vlan_vid:7,output:2', 'actions=set_field:4103->vlan_vid,output:2'],
      ['in_port=1,dl_vlan=4,actions=strip_vlan,mod_vlan_pcp:1,output:2', 'actions=pop_vlan,push_vlan:0x8100,set_field:1->vlan_pcp,output:2'],
    ];
    for (const [text, want] of cases) {
      const bytes = flowMod10(text);
      const fm = decodeFlowMod(frameMessage(bytes));
      expect(`actions=${formatInstructions(fm.instructions)}`, text).toBe(want);
      // Written back in OpenFlow 1.0 as the VLAN actions alone: the same bytes as went in.
      expect(encodeFlowMod(OfpVersion.OF10, 1, fm), text).toEqual(bytes);
      expect(fm.flags).toEqual(['reset_counts']);
    }
  });

  it('writes a push followed by a VLAN set as the single OpenFlow 1.0 action (8 bytes)', () => {
    const ins = parseFlow('actions=mod_vlan_vid:9').instructions;
    const b = encodeInstructions(ins, OfpVersion.OF10);
    expect([...b]).toEqual([0, 1, 0, 8, 0, 9, 0, 0]);
    // Without a match (packet-out, buckets) the decoded action pushes.
    expect(decodeActions(b, OfpVersion.OF10).map((a) => a.type)).toEqual(['push_vlan', 'set_field']);
  });

  it('refuses a VID over 12 bits, a PCP over 3 bits and a wrong length (OFPBAC_BAD_ARGUMENT, OFPBAC_BAD_LEN)', () => {
    const err = (bytes: number[]): string => {
      try {
        decodeActions(Uint8Array.from(bytes), OfpVersion.OF10);
        return 'accepted';
      } catch (e) {
        return e instanceof OpenFlowError ? e.errorName : String(e);
      }
    };
    expect(err([0, 1, 0, 8, 0x10, 0, 0, 0])).toBe('OFPBAC_BAD_ARGUMENT');
    expect(err([0, 2, 0, 8, 8, 0, 0, 0])).toBe('OFPBAC_BAD_ARGUMENT');
    expect(err([0, 1, 0, 16, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])).toBe('OFPBAC_BAD_LEN');
  });
});
