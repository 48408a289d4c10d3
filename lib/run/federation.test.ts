import { describe, expect, it } from 'vitest';
import { sharedHostThreads } from './federation.js';

describe('sharedHostThreads', () => {
  it("gives each process its share of the host's cores", () => {
    expect(sharedHostThreads(11, {}, 2)).toEqual({ TRIBUTARY_TF_THREADS: '1' });
    expect(sharedHostThreads(3, {}, 8)).toEqual({ TRIBUTARY_TF_THREADS: '2' });
  });

  it('leaves TensorFlow alone when the environment already sizes it', () => {
    expect(sharedHostThreads(11, { TRIBUTARY_TF_THREADS: '4' }, 2)).toEqual({});
    expect(sharedHostThreads(11, { TF_NUM_INTRAOP_THREADS: '4' }, 2)).toEqual({});
  });
});
