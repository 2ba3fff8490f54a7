/**
 * The default binding of a logical network to chassis when none is given: the VIF ports of each
 * logical switch on one chassis of its own (`hv1` for the first switch, `hv2` for the next, ... in
 * the order of the switches' names, then tunnel keys: the same binding whatever uuids and keys the
 * database holds), as `ovnts ovn-send` binds them.
 */
import type { SbDatabase } from '@ovnts/ovn';
import { emptyChassisMap, type ChassisMap } from './chassis-map.js';

/** One chassis per logical switch holding its VIF ports (see the module comment). */
export function chassisPerSwitch(sb: SbDatabase): ChassisMap {
  const map = emptyChassisMap();
  let n = 0;
  const switches = sb.datapaths.filter((dp) => dp.kind === 'switch').sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.tunnelKey - b.tunnelKey));
  for (const dp of switches) {
    const ports = sb.portBindings.filter((p) => p.datapath === dp && p.type === '' && !p.parentPort).map((p) => p.logicalPort);
    if (!ports.length) continue;
    n++;
    const name = `hv${n}`;
    map.chassis.set(name, { name, ip: `192.168.0.${n}`, ports });
    for (const p of ports) map.bindings.set(p, name);
  }
  return map;
}
