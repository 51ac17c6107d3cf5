// A seeded, reproducible random number generator (weight initialisation, data order, sampling).
export { SeededRandom, type SeededRandomState } from './seeded-random.js';
