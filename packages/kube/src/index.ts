/**
 * @ovnts/kube: Kubernetes objects to the OVN northbound network the way OVN-Kubernetes builds it,
 * with verdicts from the emulated OVN. See docs/kube.md.
 */
export * from './errors.js';
export * from './net.js';
export * from './labels.js';
export * from './load.js';
export * from './model.js';
export * from './cluster.js';
export * from './ids.js';
export * from './translate.js';
export * from './engine.js';
export * from './chassis-engine.js';
export * from './query.js';
export * from './export.js';
export * from './frames.js';
