/**
 * @ovnts/host: the runtime glue between ovn-ts and the host it runs on: network namespaces and
 * veth pairs for pods, recorded on disk so they can always be removed (`HostNetwork`,
 * `downState`), and switch ports attached to real interfaces through live capture
 * (`attachLivePort`).
 */
export * from './ip.js';
export * from './network.js';
export * from './port.js';
