import { InvalidArgumentError } from '@codestack/core';

/** The serialisable state of a {@link SeededRandom}: four unsigned 32-bit integers. */
export type SeededRandomState = [number, number, number, number];

/**
 * A small, fast, seedable pseudo-random generator (sfc32) whose state can be saved and restored,
 * so sampling and data shuffling resume exactly.
 */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Seeds the generator from a 32-bit integer seed. */
  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new InvalidArgumentError({ argument: 'seed', message: `expected an integer, got ${seed}` });
    // splitmix32 spreads the seed over the four state words.
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let index = 0; index < 12; index++) this.nextUint32();
  }

  /** Creates a generator at a saved state. */
  static fromState(state: SeededRandomState): SeededRandom {
    if (!Array.isArray(state) || state.length !== 4 || !state.every((word) => Number.isInteger(word) && word >= 0 && word <= 0xffffffff)) {
      throw new InvalidArgumentError({ argument: 'state', message: 'expected four unsigned 32-bit integers' });
    }
    const random = new SeededRandom(0);
    random.setState(state);
    return random;
  }

  /** The next unsigned 32-bit integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** A uniform number in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A standard normal number (Box-Muller). */
  nextNormal(): number {
    const u = 1 - this.nextFloat();
    const v = this.nextFloat();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** A uniform integer in [0, limit). */
  nextInt(limit: number): number {
    return Math.floor(this.nextFloat() * limit);
  }

  /** The current state, to save. */
  getState(): SeededRandomState {
    return [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0];
  }

  /** Restores a state from {@link SeededRandom.getState}. */
  setState(state: SeededRandomState): void {
    [this.a, this.b, this.c, this.d] = state;
  }
}
