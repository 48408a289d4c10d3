import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/core/errors.js';
import { loadCoordinatorConfig } from './config.js';
import { jobOpening } from './opening.js';
import { createLogger } from '../../lib/log.js';

const base = {
  KAFKA_BROKERS: 'localhost:9092',
  SCHEMA_REGISTRY_URL: 'http://localhost:8081',
  TRIBUTARY_MAX_VERSIONS: '10',
};

describe('TRIBUTARY_KAFKA_CLIENT (the client of server steps)', () => {
  it('is auto unless set', () => {
    expect(loadCoordinatorConfig(base).kafkaClient).toBe('auto');
  });

  it.each(['auto', 'kafkajs', 'librdkafka'] as const)('takes %s', (value) => {
    expect(loadCoordinatorConfig({ ...base, TRIBUTARY_KAFKA_CLIENT: value }).kafkaClient).toBe(value);
  });

  it('refuses another client, naming the variable', () => {
    const load = () => loadCoordinatorConfig({ ...base, TRIBUTARY_KAFKA_CLIENT: 'rdkafka' });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/TRIBUTARY_KAFKA_CLIENT/);
  });

  it("reaches the job's opening with the brokers, the job's client id and the transaction timeout", () => {
    const config = loadCoordinatorConfig({
      ...base,
      TRIBUTARY_JOB_ID: 'job-7',
      TRIBUTARY_KAFKA_CLIENT: 'kafkajs',
      TRIBUTARY_TRANSACTION_TIMEOUT_MS: '20000',
    });
    const opening = jobOpening(config, createLogger({ component: 'test' }));
    expect(opening).toMatchObject({
      jobId: config.aggregation.jobId,
      transactionTimeoutMs: 20000,
      stepClient: {
        choice: 'kafkajs',
        brokers: ['localhost:9092'],
        clientId: `tributary-coordinator-${config.aggregation.jobId}`,
      },
    });
  });
});

describe('TRIBUTARY_EVALUATION_SLICE_MS (how long a batch of central evaluation takes)', () => {
  it('is 10 ms unless set, and takes a fraction', () => {
    expect(loadCoordinatorConfig(base).evaluationSliceMs).toBe(10);
    expect(loadCoordinatorConfig({ ...base, TRIBUTARY_EVALUATION_SLICE_MS: '2.5' }).evaluationSliceMs).toBe(
      2.5,
    );
  });

  it.each(['0', '-3', 'soon', '20000'])('refuses %s, naming the variable', (value) => {
    const load = () => loadCoordinatorConfig({ ...base, TRIBUTARY_EVALUATION_SLICE_MS: value });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/TRIBUTARY_EVALUATION_SLICE_MS/);
  });
});

describe('TRIBUTARY_EVALUATION_THREAD (central evaluation on a thread of its own)', () => {
  it('is off unless set to on, and refuses anything else, naming the variable', () => {
    expect(loadCoordinatorConfig(base).evaluationThread).toBe(false);
    expect(loadCoordinatorConfig({ ...base, TRIBUTARY_EVALUATION_THREAD: 'on' }).evaluationThread).toBe(true);
    expect(loadCoordinatorConfig({ ...base, TRIBUTARY_EVALUATION_THREAD: 'off' }).evaluationThread).toBe(
      false,
    );
    expect(() => loadCoordinatorConfig({ ...base, TRIBUTARY_EVALUATION_THREAD: 'yes' })).toThrow(
      /TRIBUTARY_EVALUATION_THREAD/,
    );
  });
});

describe('TRIBUTARY_SERVED_AVERAGE (the served model, lib/core/fedbuff/served.ts)', () => {
  it('is off unless set, and takes a β in [0, 1)', () => {
    expect(loadCoordinatorConfig(base).aggregation.servedAverage).toBe(0);
    const set = loadCoordinatorConfig({ ...base, TRIBUTARY_SERVED_AVERAGE: '0.75' });
    expect(set.aggregation.servedAverage).toBe(0.75);
  });

  it.each(['1', '-0.5', 'most'])('refuses %s, naming the variable', (value) => {
    const load = () => loadCoordinatorConfig({ ...base, TRIBUTARY_SERVED_AVERAGE: value });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/TRIBUTARY_SERVED_AVERAGE/);
  });
});
