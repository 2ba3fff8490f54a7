/**
 * The default binding of a logical network to chassis when none is given: the VIF ports of each
 * logical switch on one chassis of its own (`hv1` for the first switch, `hv2` for the next, ... in
 * the southbound database's datapath order), as `ovnts ovn-send` binds them.
 */
import type { SbDatabase } from '@ovnts/ovn';
import { emptyChassisMap, type ChassisMap } from './chassis-map.js';

/** One chassis per logical switch holding its VIF ports (see the module comment). */
export function chassisPerSwitch(sb: SbDatabase): ChassisMap {
  const map = emptyChassisMap();
  let n = 0;
  for (const dp of sb.datapaths) {
    if (dp.kind !== 'switch') continue;
    const ports = sb.portBindings.filter((p) => p.datapath === dp && p.type === '' && !p.parentPort).map((p) => p.logicalPort);
    if (!ports.length) continue;
    n++;
    const name = `hv${n}`;
    map.chassis.set(name, { name, ip: `192.168.0.${n}`, ports });
    for (const p of ports) map.bindings.set(p, name);
  }
  return map;
}
