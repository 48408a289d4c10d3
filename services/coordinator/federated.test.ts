import { describe, expect, it, vi } from 'vitest';
import { FederatedEvaluation, type FederatedEvaluationDeps } from './federated.js';

/** Only what versionPublished touches: the settings, the model, the log, and the encoder (which records). */
function federated(model: { classes: number | null; ready: boolean }) {
  const encoded: unknown[] = [];
  const info = vi.fn();
  const deps = {
    jobId: 'job',
    runId: 'run',
    settings: { every: 5, deadlineMs: 10_000 },
    serde: {
      encode: (_name: string, _id: number, value: unknown) => {
        encoded.push(value);
        throw new Error('stop here: the round was opened');
      },
    },
    log: { info, warn: vi.fn(), error: vi.fn(), debug: vi.fn() },
    now: () => 1_000,
    model,
  } as unknown as FederatedEvaluationDeps;
  return { evaluation: new FederatedEvaluation(deps), encoded, info };
}

const workers = [{ workerId: 'w1', silo: 'a' }];

describe('FederatedEvaluation.versionPublished', () => {
  it('opens no round while the model is loading, and says so', async () => {
    const { evaluation, encoded, info } = federated({ classes: null, ready: false });
    await evaluation.versionPublished(5, workers);
    expect(encoded).toEqual([]);
    expect(info).toHaveBeenCalledWith('evaluation-round-skipped', { version: 5, reason: 'model-loading' });
  });

  it('opens the round once the model is loaded', async () => {
    const { evaluation, encoded } = federated({ classes: 10, ready: true });
    await expect(evaluation.versionPublished(5, workers)).rejects.toThrow('the round was opened');
    expect(encoded).toEqual([expect.objectContaining({ version: 5, workerId: 'w1' })]);
  });

  it('opens none at a version that is not due', async () => {
    const { evaluation, encoded, info } = federated({ classes: 10, ready: false });
    await evaluation.versionPublished(4, workers);
    expect(encoded).toEqual([]);
    expect(info).not.toHaveBeenCalled();
  });
});
