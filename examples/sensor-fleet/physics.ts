/**
 * Simulated vibration telemetry of rotating machines (motors driving pumps and fans), pure and
 * seeded: no clocks, no I/O. README.md explains the model; in short:
 *
 * - A machine turns at shaft frequency f (Hz). Its vibration spectrum is a set of lines at
 *   multiples ("orders") of f plus a broadband noise floor.
 * - Each fault adds energy at its own orders, so fault frequencies scale with shaft speed:
 *   imbalance at 1× (amplitude ∝ f², a centrifugal force), misalignment at 2× and 3× (growing with
 *   load), a bearing outer-race defect at BPFO = (n/2)(1 − d/D) orders and its harmonics, an
 *   inner-race defect at BPFI = (n/2)(1 + d/D) with sidebands at ±1× (the defect turns with the
 *   shaft through the load zone). Bearing defects also raise the high-frequency floor.
 * - Severity s ∈ [0.25, 1] grows from a fault's onset until repair; amplitudes scale with it.
 * - The sensor adds a noise floor (per plant) and multiplicative measurement noise; lines above the
 *   anti-aliasing cut-off (0.4 × sampling rate) are lost.
 * - Features are log band energies in order bands (order tracking, as condition-monitoring systems
 *   do), plus speed, load and temperature.
 */

export const CONDITIONS = ['normal', 'imbalance', 'misalignment', 'outer-race', 'inner-race'] as const;
export type Condition = (typeof CONDITIONS)[number];
export const FAULTS = CONDITIONS.slice(1) as readonly Exclude<Condition, 'normal'>[];

/** A 9-ball bearing with ball/pitch diameter ratio 0.2 (contact angle 0): BPFO 3.6, BPFI 5.4 orders. */
const BALLS = 9;
const DIAMETER_RATIO = 0.2;
export const BPFO = (BALLS / 2) * (1 - DIAMETER_RATIO);
export const BPFI = (BALLS / 2) * (1 + DIAMETER_RATIO);

/** Order bands: half an order wide up to 8.25, then two wide bands; edges between the fault lines. */
export const BAND_EDGES: readonly number[] = [
  ...Array.from({ length: 17 }, (_, i) => 0.25 + i * 0.5),
  12.25,
  16.25,
];
export const BANDS = BAND_EDGES.length - 1;
/** speed, load, temperature, then the band energies. */
export const FEATURES = 3 + BANDS;

export interface PlantProfile {
  readonly name: string;
  /** Shaft speed range, Hz. */
  readonly speedHz: readonly [number, number];
  readonly load: readonly [number, number];
  /** Sensor noise floor (energy per Hz) and measurement noise (σ of a log-normal factor). */
  readonly noiseDensity: number;
  readonly measurementNoise: number;
  readonly samplingHz: number;
  readonly ambientC: number;
  /** Relative frequency of each fault kind when a machine develops one. */
  readonly faultMix: Readonly<Partial<Record<Exclude<Condition, 'normal'>, number>>>;
  readonly machines: number;
}

/** Four plants that differ by construction: speeds, loads, sensors, climate and what goes wrong. */
export const PLANTS: readonly PlantProfile[] = [
  {
    name: 'plant-0',
    speedHz: [20, 30],
    load: [0.4, 0.9],
    noiseDensity: 2e-5,
    measurementNoise: 0.15,
    samplingHz: 10_000,
    ambientC: 22,
    faultMix: { imbalance: 0.4, misalignment: 0.3, 'outer-race': 0.3 },
    machines: 12,
  },
  {
    name: 'plant-1',
    speedHz: [40, 60],
    load: [0.2, 0.6],
    noiseDensity: 5e-5,
    measurementNoise: 0.2,
    samplingHz: 5_000,
    ambientC: 30,
    faultMix: { imbalance: 0.2, misalignment: 0.5, 'outer-race': 0.3 },
    machines: 10,
  },
  {
    name: 'plant-2',
    speedHz: [25, 50],
    load: [0.5, 1],
    noiseDensity: 1.5e-4,
    measurementNoise: 0.3,
    samplingHz: 2_000,
    ambientC: 35,
    faultMix: { imbalance: 0.4, 'outer-race': 0.6 },
    machines: 8,
  },
  {
    name: 'plant-3',
    speedHz: [15, 35],
    load: [0.3, 0.8],
    noiseDensity: 8e-5,
    measurementNoise: 0.25,
    samplingHz: 4_000,
    ambientC: 15,
    faultMix: { imbalance: 0.5, misalignment: 0.5 },
    machines: 8,
  },
];

export interface MachineState {
  readonly id: string;
  condition: Condition;
  /** Severity at onset and growth per second (simulated time is compressed: minutes, not months). */
  severityAtOnset: number;
  growthPerSecond: number;
  /** When the current condition began and when it ends (repair, or the next fault). */
  sinceMs: number;
  untilMs: number;
  /** ±2 % bearing-geometry and imbalance differences between machines. */
  readonly geometry: number;
  readonly residualImbalance: number;
}

export interface Reading {
  readonly timestampMs: number;
  readonly machineId: string;
  readonly speedRpm: number;
  readonly load: number;
  readonly temperatureC: number;
  /** Log10 energy per order band (BAND_EDGES). */
  readonly bands: number[];
  readonly condition: Condition;
}

export type Random = () => number;
const uniform = (random: Random, [lo, hi]: readonly [number, number]) => lo + (hi - lo) * random();
function normal(random: Random): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** Severity s of a machine's condition at `nowMs` (0 when normal). */
export function severity(machine: MachineState, nowMs: number): number {
  if (machine.condition === 'normal') return 0;
  const grown = machine.severityAtOnset + machine.growthPerSecond * ((nowMs - machine.sinceMs) / 1000);
  return Math.min(1, grown);
}

/** The spectral lines (order, amplitude) of a machine at speed f, load and condition of severity s. */
export function spectralLines(
  condition: Condition,
  s: number,
  speedHz: number,
  load: number,
  machine: Pick<MachineState, 'geometry' | 'residualImbalance'>,
): { order: number; amplitude: number }[] {
  const speedSquared = (speedHz / 30) ** 2;
  const lines = [
    { order: 1, amplitude: machine.residualImbalance * speedSquared },
    { order: 2, amplitude: 0.08 },
    { order: 3, amplitude: 0.04 },
  ];
  const add = (order: number, amplitude: number) => lines.push({ order, amplitude });
  switch (condition) {
    case 'normal':
      break;
    case 'imbalance':
      add(1, s * 1.6 * speedSquared);
      break;
    case 'misalignment':
      add(2, s * 1.2 * (0.5 + load));
      add(1, s * 0.3);
      add(3, s * 0.5 * (0.5 + load));
      break;
    case 'outer-race':
      for (let k = 1; k <= 3; k++) add(k * BPFO * machine.geometry, (s * 0.6) / k);
      break;
    case 'inner-race':
      for (let k = 1; k <= 2; k++) {
        const order = k * BPFI * machine.geometry;
        add(order, (s * 0.55) / k);
        add(order - 1, (s * 0.3) / k);
        add(order + 1, (s * 0.3) / k);
      }
      break;
  }
  return lines;
}

/** Log10 band energies as the plant's sensor sees the lines: noise floor, cut-off, measurement noise. */
export function bandEnergies(
  lines: readonly { order: number; amplitude: number }[],
  speedHz: number,
  plant: PlantProfile,
  bearingWear: number,
  random: Random,
): number[] {
  const cutoffHz = 0.4 * plant.samplingHz;
  const energies = BAND_EDGES.slice(0, -1).map((lo, b) => {
    const hi = BAND_EDGES[b + 1] ?? lo;
    const visibleHi = Math.min(hi * speedHz, cutoffHz);
    const widthHz = Math.max(0, visibleHi - lo * speedHz);
    // The floor, raised at high orders by a worn bearing's impacts (broadband).
    const wear = lo >= 8 ? 1 + 40 * bearingWear : 1;
    return plant.noiseDensity * Math.max(widthHz, 1) * wear;
  });
  for (const { order, amplitude } of lines) {
    if (order * speedHz > cutoffHz) continue; // removed by the anti-aliasing filter
    const band = BAND_EDGES.findIndex((edge, i) => order >= edge && order < (BAND_EDGES[i + 1] ?? -1));
    if (band >= 0) energies[band] = (energies[band] ?? 0) + amplitude * amplitude;
  }
  return energies.map((e) => Math.log10(e * Math.exp(plant.measurementNoise * normal(random))));
}

/** A machine's reading at `nowMs` in its current condition. */
export function readingOf(
  machine: MachineState,
  plant: PlantProfile,
  nowMs: number,
  random: Random,
): Reading {
  const speedHz = uniform(random, plant.speedHz);
  const load = uniform(random, plant.load);
  const s = severity(machine, nowMs);
  const bearing = machine.condition === 'outer-race' || machine.condition === 'inner-race' ? s : 0;
  const lines = spectralLines(machine.condition, s, speedHz, load, machine);
  const temperatureC =
    plant.ambientC +
    25 * load +
    12 * bearing +
    (machine.condition === 'misalignment' ? 4 * s : 0) +
    1.5 * normal(random);
  return {
    timestampMs: nowMs,
    machineId: machine.id,
    speedRpm: speedHz * 60,
    load,
    temperatureC,
    bands: bandEnergies(lines, speedHz, plant, bearing, random),
    condition: machine.condition,
  };
}

/** A reading as the model's input: each feature scaled to roughly [-1, 1]. */
export function featuresOf(r: Pick<Reading, 'speedRpm' | 'load' | 'temperatureC' | 'bands'>): number[] {
  return [
    r.speedRpm / 60 / 30 - 1,
    2 * r.load - 1,
    (r.temperatureC - 40) / 20,
    ...r.bands.map((e) => (e + 2.5) / 2),
  ];
}

/**
 * The fleet's machines and their conditions over time: a healthy machine develops a fault after a
 * while (its kind drawn from the plant's mix, plus kinds that have appeared since), a faulty one is
 * repaired once its fault has run its course.
 */
export class PlantSimulation {
  readonly machines: MachineState[];
  /** Fault kinds that appear at this plant from a time on (drift), with their share of new faults. */
  private readonly emerging: { condition: Exclude<Condition, 'normal'>; fromMs: number; share: number }[] =
    [];

  constructor(
    readonly plant: PlantProfile,
    private readonly random: Random,
    startMs: number,
  ) {
    this.machines = Array.from({ length: plant.machines }, (_, i) => {
      const machine: MachineState = {
        id: `${plant.name}/m${String(i).padStart(2, '0')}`,
        condition: 'normal',
        severityAtOnset: 0,
        growthPerSecond: 0,
        sinceMs: startMs,
        untilMs: startMs,
        geometry: 1 + 0.02 * (2 * random() - 1),
        residualImbalance: 0.15 + 0.1 * random(),
      };
      this.advance(machine, startMs, true);
      return machine;
    });
  }

  /** From `fromMs` on, `share` of the faults that start here are of kind `condition`. */
  emerge(condition: Exclude<Condition, 'normal'>, fromMs: number, share: number): void {
    this.emerging.push({ condition, fromMs, share });
  }

  private nextFault(nowMs: number): Exclude<Condition, 'normal'> {
    for (const e of this.emerging) if (nowMs >= e.fromMs && this.random() < e.share) return e.condition;
    const mix = Object.entries(this.plant.faultMix) as [Exclude<Condition, 'normal'>, number][];
    const total = mix.reduce((sum, [, w]) => sum + w, 0);
    let pick = this.random() * total;
    for (const [condition, weight] of mix) if ((pick -= weight) <= 0) return condition;
    return mix[0]?.[0] ?? 'imbalance';
  }

  /** Moves a machine to its next condition when its current one is over. */
  private advance(machine: MachineState, nowMs: number, initial = false): void {
    if (!initial && nowMs < machine.untilMs) return;
    const faulty = initial ? this.random() < 0.5 : machine.condition === 'normal';
    machine.sinceMs = nowMs;
    if (faulty) {
      machine.condition = this.nextFault(nowMs);
      machine.severityAtOnset = 0.25 + 0.2 * this.random();
      machine.growthPerSecond = 0.01 + 0.02 * this.random();
      machine.untilMs = nowMs + 15_000 + 25_000 * this.random();
    } else {
      machine.condition = 'normal';
      machine.untilMs = nowMs + 10_000 + 25_000 * this.random();
    }
  }

  /** One reading from each machine at `nowMs`. */
  tick(nowMs: number): Reading[] {
    return this.machines.map((machine) => {
      this.advance(machine, nowMs);
      return readingOf(machine, this.plant, nowMs, this.random);
    });
  }
}

/**
 * A plant's holdout: `perCondition` readings of each condition (every fault kind, seen here or not)
 * at the plant's own speeds, loads and sensors, severities across their range. It answers "would
 * this plant's model recognise this fault if it happened here?"; it is never trained on.
 */
export function holdoutReadings(plant: PlantProfile, perCondition: number, random: Random): Reading[] {
  const readings: Reading[] = [];
  for (const condition of CONDITIONS)
    for (let i = 0; i < perCondition; i++) {
      const machine: MachineState = {
        id: `${plant.name}/holdout`,
        condition,
        severityAtOnset: 0.25 + 0.75 * random(),
        growthPerSecond: 0,
        sinceMs: 0,
        untilMs: 0,
        geometry: 1 + 0.02 * (2 * random() - 1),
        residualImbalance: 0.15 + 0.1 * random(),
      };
      readings.push(readingOf(machine, plant, 0, random));
    }
  return readings;
}
