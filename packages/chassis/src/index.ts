/**
 * @ovnts/chassis: ovn-controller's job. Logical flows become OpenFlow on each chassis's switch
 * with OVN 23.03's table layout; chassis reach each other through Geneve tunnels over an
 * in-process underlay on the virtual clock, or real UDP.
 */
export { ChassisError, type ChassisErrorCode } from './errors.js';
export { parseChassisMap, formatChassisMap, emptyChassisMap, type ChassisMap, type MappedChassis } from './chassis-map.js';
