import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/core/errors.js';
import { loadWorkerConfig } from './config.js';

const base = { TRIBUTARY_WORKER_ID: 'w1', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081' };

describe('TRIBUTARY_TF_THREADS', () => {
  it("is TensorFlow's default (null) when unset or 0", () => {
    expect(loadWorkerConfig(base).tfThreads).toBeNull();
    expect(loadWorkerConfig({ ...base, TRIBUTARY_TF_THREADS: '0' }).tfThreads).toBeNull();
  });

  it('is the number of threads given', () => {
    expect(loadWorkerConfig({ ...base, TRIBUTARY_TF_THREADS: '3' }).tfThreads).toBe(3);
  });

  it.each(['1.5', '-1', 'many', '5000'])('refuses %s, naming the variable', (value) => {
    const load = () => loadWorkerConfig({ ...base, TRIBUTARY_TF_THREADS: value });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/TRIBUTARY_TF_THREADS: must be a whole number >= 0 <= 1024/);
  });
});

describe('TRIBUTARY_KAFKA_CLIENT', () => {
  it('is auto unless set', () => {
    expect(loadWorkerConfig(base).kafkaClient).toBe('auto');
  });

  it.each(['auto', 'kafkajs', 'librdkafka'] as const)('takes %s', (value) => {
    expect(loadWorkerConfig({ ...base, TRIBUTARY_KAFKA_CLIENT: value }).kafkaClient).toBe(value);
  });

  it('refuses another client, naming the variable', () => {
    const load = () => loadWorkerConfig({ ...base, TRIBUTARY_KAFKA_CLIENT: 'rdkafka' });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/TRIBUTARY_KAFKA_CLIENT/);
  });
});

describe('TRIBUTARY_DELAY_BASIS', () => {
  it('is cpu unless set, and takes wall, or device with its ms a sample', () => {
    expect(loadWorkerConfig(base).delayBasis).toBe('cpu');
    expect(loadWorkerConfig({ ...base, TRIBUTARY_DELAY_BASIS: 'wall' }).delayBasis).toBe('wall');
    const device = loadWorkerConfig({
      ...base,
      TRIBUTARY_DELAY_BASIS: 'device',
      TRIBUTARY_DEVICE_MS_PER_SAMPLE: '0.25',
    });
    expect([device.delayBasis, device.deviceMsPerSample]).toEqual(['device', 0.25]);
    expect(loadWorkerConfig(base).deviceMsPerSample).toBe(0.1);
  });

  it('refuses another basis, naming the variable', () => {
    const load = () => loadWorkerConfig({ ...base, TRIBUTARY_DELAY_BASIS: 'gpu' });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/TRIBUTARY_DELAY_BASIS/);
  });
});

describe('TRIBUTARY_WARM_UP_STEPS and _MAX_CPU_MS', () => {
  it('warm up 300 steps or 3 s of CPU unless set', () => {
    expect(loadWorkerConfig(base).warmUp).toEqual({ steps: 300, maxCpuMs: 3000 });
  });

  it('take 0 (no warm-up) and other whole numbers', () => {
    const config = loadWorkerConfig({
      ...base,
      TRIBUTARY_WARM_UP_STEPS: '0',
      TRIBUTARY_WARM_UP_MAX_CPU_MS: '500',
    });
    expect(config.warmUp).toEqual({ steps: 0, maxCpuMs: 500 });
  });

  it.each(['-1', '2.5', 'lots'])('refuse %s, naming the variable', (value) => {
    expect(() => loadWorkerConfig({ ...base, TRIBUTARY_WARM_UP_STEPS: value })).toThrow(
      /TRIBUTARY_WARM_UP_STEPS/,
    );
    expect(() => loadWorkerConfig({ ...base, TRIBUTARY_WARM_UP_MAX_CPU_MS: value })).toThrow(
      /TRIBUTARY_WARM_UP_MAX_CPU_MS/,
    );
  });
});
