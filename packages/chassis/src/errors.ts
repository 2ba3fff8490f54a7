/**
 * Errors of the physical layer. A `ChassisError` names what is wrong and where: the chassis-map
 * file and line, the logical port, the chassis, or the southbound row a flow could not be built
 * from. `code` is a short machine-readable reason.
 */

/** Reasons a chassis operation fails. */
export type ChassisErrorCode =
  | 'map-syntax'
  | 'map-conflict'
  | 'unknown-port'
  | 'unknown-chassis'
  | 'bad-frame'
  | 'bad-config'
  | 'encode'
  | 'decode'
  | 'loop'
  | 'transport';

/** A physical-layer failure (bad chassis map, unknown port or chassis, bad frame, unencodable action, underlay socket). */
export class ChassisError extends Error {
  override readonly name = 'ChassisError';
  constructor(
    /** Machine-readable reason. */
    readonly code: ChassisErrorCode,
    message: string,
  ) {
    super(message);
  }
}
