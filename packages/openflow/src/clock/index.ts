/** Injected time and randomness: `Clock`, `VirtualClock`, `RealClock`, `Rng`, `SeededRng`, `CryptoRng`. */
export * from './clock.js';
export * from './random.js';
