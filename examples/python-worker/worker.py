"""A Tributary worker in Python, written from docs/protocol.md alone.

It joins a job as a peer of the TypeScript workers: it checks in, takes the tasks leased to it,
trains the job's network with NumPy on its own silo's data, and publishes Avro ModelUpdates in the
Confluent wire format, FLOAT32 or FLOAT16, chunked (in one Kafka transaction) when larger than its
chunk limit. It trains any dense classifier (kernel/bias pairs, ReLU between, softmax out), read
from the model's manifest: the `blobs-mlp` task (examples/python-worker/task.ts, whose data it
draws itself) or, given `--data`, e.g. the MNIST example's MLP on a silo's exported examples.

    python worker.py --brokers localhost:9092 --registry http://localhost:8081/apis/ccompat/v7 \
        --job blobs --worker-id py-0 --silo py-site
"""

import argparse
import hashlib
import io
import json
import math
import os
import random
import signal
import struct
import sys
import threading
import time
import urllib.request
import uuid

import numpy as np
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from fastavro import parse_schema, schemaless_reader, schemaless_writer

SCHEMAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "schemas")

# The blobs-mlp task's data, as task.ts defines it: three classes around these centres, spread 1.
CENTRES = np.array([[3, 0, 0, 0], [0, 3, 0, 0], [0, 0, 3, 0]], dtype=np.float32)
SPREAD = 1.0


def log(event, **fields):
    print(json.dumps({"component": "python-worker", "event": event, **fields}, separators=(",", ":")), flush=True)


def without_logical_types(schema):
    """Timestamps stay integers (milliseconds), as the protocol gives them."""
    if isinstance(schema, dict):
        return {k: without_logical_types(v) for k, v in schema.items() if k != "logicalType"}
    if isinstance(schema, list):
        return [without_logical_types(s) for s in schema]
    return schema


class Registry:
    """The Confluent REST API: writer schemas by id, our schemas registered under <topic>-value."""

    def __init__(self, url):
        self.url = url.rstrip("/")
        self.by_id = {}

    def _call(self, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, headers={"Content-Type": "application/vnd.schemaregistry.v1+json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def register(self, subject, schema_text):
        return self._call(f"/subjects/{subject}/versions", {"schema": schema_text})["id"]

    def writer(self, schema_id):
        if schema_id not in self.by_id:
            self._parse(schema_id, self._call(f"/schemas/ids/{schema_id}")["schema"])
        return self.by_id[schema_id]

    def prefetch(self, subject):
        """The subject's latest writer schema, fetched now rather than on its first record, if it has one."""
        try:
            latest = self._call(f"/subjects/{subject}/versions/latest")
        except (OSError, ValueError):  # not registered yet (404), or no answer: fetched on first use
            return
        if latest.get("id") not in self.by_id:
            self._parse(latest["id"], latest["schema"])

    def _parse(self, schema_id, text):
        self.by_id[schema_id] = parse_schema(without_logical_types(json.loads(text)), named_schemas={})


class Serde:
    """Confluent wire format: byte 0, a 4-byte big-endian schema id, Avro binary."""

    def __init__(self, registry):
        self.registry = registry
        self.readers = {}

    def reader(self, file):
        if file not in self.readers:
            with open(os.path.join(SCHEMAS, file)) as f:
                self.readers[file] = parse_schema(without_logical_types(json.load(f)), named_schemas={})
        return self.readers[file]

    def decode(self, value, file):
        if value is None or len(value) < 5 or value[0] != 0:
            raise ValueError("not the Confluent wire format")
        (schema_id,) = struct.unpack(">I", value[1:5])
        return schemaless_reader(io.BytesIO(value[5:]), self.registry.writer(schema_id), self.reader(file))

    def encode(self, schema_id, file, record):
        out = io.BytesIO()
        out.write(b"\0" + struct.pack(">I", schema_id))
        schemaless_writer(out, self.reader(file), record)
        return out.getvalue()


DTYPES = {"FLOAT32": np.dtype("<f4"), "FLOAT16": np.dtype("<f2")}


def decode_tensors(descriptors, data):
    """The tensors of a model, in manifest order, as float32 arrays."""
    tensors, offset = {}, 0
    for d in descriptors:
        raw = data[offset : offset + d["byteLength"]]
        offset += d["byteLength"]
        if d["encoding"] == "INT8_AFFINE":
            q = d["quantization"]
            values = q["scale"] * (np.frombuffer(raw, dtype=np.int8).astype(np.float32) - q["zeroPoint"])
        else:
            values = np.frombuffer(raw, dtype=DTYPES[d["encoding"]]).astype(np.float32)
        tensors[d["name"]] = values.reshape(d["shape"])
    if offset != len(data):
        raise ValueError("descriptors do not cover the payload")
    return tensors


def encode_tensors(names, tensors, encoding):
    parts, descriptors = [], []
    for name in names:
        raw = tensors[name].astype(DTYPES[encoding]).tobytes()
        parts.append(raw)
        descriptors.append(
            {
                "name": name,
                "shape": list(tensors[name].shape),
                "dtype": "FLOAT32",
                "encoding": encoding,
                "byteLength": len(raw),
                "quantization": None,
            }
        )
    return descriptors, b"".join(parts)


def read_long(buf, pos):
    """Avro's zigzag varint at buf[pos]: (value, the position after it)."""
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("not an Avro long")
        byte = buf[pos]
        pos, result, shift = pos + 1, result | (byte & 0x7F) << shift, shift + 7
        if not byte & 0x80:
            return (result >> 1) ^ -(result & 1), pos


def leads_with_version(writer):
    """Whether a GlobalModel writer schema starts jobId (string), version (long): then a record's
    version can be read without decoding the rest (docs/protocol.md: global-model.v1 does)."""
    fields = writer.get("fields", []) if isinstance(writer, dict) else []
    return len(fields) >= 2 and [(f["name"], f["type"]) for f in fields[:2]] == [("jobId", "string"), ("version", "long")]


def peek_version(value):
    """The version of a GlobalModel record in the Confluent wire format whose writer leads with it."""
    length, pos = read_long(value, 5)  # past the magic byte and schema id: jobId's length
    if length < 0 or pos + length > len(value):
        raise ValueError("not a GlobalModel record")
    return read_long(value, pos + length)[0]


class Models:
    """Recent global versions, reassembled from chunks keyed <job>#i (a whole model is keyed <job>).

    Records are held undecoded, by version, until a task asks for that version: a worker that is
    not leased a version never decodes it (ten workers each decoding every version cost ~0.1 core
    of a 2-core host, in the moments a new version's tasks go out). Only the newest `keep` versions
    are held, so memory stays bounded whatever the topic holds.
    """

    def __init__(self, keep=4):
        self.versions, self.partial, self.keep, self.manifest = {}, {}, keep, None
        self.held = {}  # version -> undecoded records, in topic order

    def hold(self, version, value):
        self.held.setdefault(version, []).append(value)
        for old in sorted(self.held)[: -self.keep]:
            del self.held[old]

    def take(self, version):
        """The held records of `version` (none once taken)."""
        return self.held.pop(version, [])

    def accept(self, record):
        chunk, version = record["chunk"], record["version"]
        if chunk is None:
            return self._store(record, record["data"])
        parts = self.partial.setdefault(version, {})
        parts[chunk["index"]] = record
        for old in sorted(self.partial)[: -self.keep]:  # versions whose chunks never all came
            del self.partial[old]
        if len(parts) < chunk["count"]:
            return None
        data = bytearray(chunk["totalBytes"])
        for part in parts.values():
            c = part["chunk"]
            data[c["offset"] : c["offset"] + len(part["data"])] = part["data"]
        self.partial.pop(version, None)
        if hashlib.sha256(data).digest() != chunk["sha256"]:
            log("model-corrupt", version=version)
            return None
        return self._store(record, bytes(data))

    def _store(self, record, data):
        self.manifest = record["manifest"]
        self.versions[record["version"]] = decode_tensors(record["tensors"], data)
        for old in sorted(self.versions)[: -self.keep]:
            del self.versions[old]
        return record["version"]


# What a just-created topic answers until its leader is known: worth asking again.
SETTLING = {KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE,
            KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._TIMED_OUT, KafkaError._TRANSPORT}


def murmur2(data):
    """Kafka's murmur2 (Java's Utils.murmur2), unsigned: the default partitioner's hash of a key."""
    m, length = 0x5BD1E995, len(data)
    h = 0x9747B28C ^ length
    whole = length & ~3
    for i in range(0, whole, 4):
        k = data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        h = ((h * m) & 0xFFFFFFFF) ^ ((k * m) & 0xFFFFFFFF)
    tail = length & 3
    if tail == 3:
        h ^= data[whole + 2] << 16
    if tail >= 2:
        h ^= data[whole + 1] << 8
    if tail >= 1:
        h = ((h ^ data[whole]) * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    return h ^ (h >> 15)


def partition_of_key(key, partitions):
    """The partition Kafka's default partitioner gives a record keyed `key` (protocol rule 1)."""
    return (murmur2(key.encode("utf-8")) & 0x7FFFFFFF) % partitions


def silo_data(count, seed):
    """blobs-mlp's examples: `count` of them, the classes in turn."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % len(CENTRES)
    features = CENTRES[labels] + SPREAD * rng.standard_normal((count, 4)).astype(np.float32)
    return features.astype(np.float32), labels


def exported_data(prefix):
    """A silo's examples as files: <prefix>.images.f32 (float32 rows) and <prefix>.labels.u8."""
    labels = np.fromfile(prefix + ".labels.u8", dtype=np.uint8).astype(np.int64)
    features = np.fromfile(prefix + ".images.f32", dtype=np.float32)
    if len(labels) == 0 or features.size % len(labels):
        raise SystemExit(f"{prefix}: the images do not divide into one row per label")
    return features.reshape(len(labels), -1), labels


def dense_layers(manifest):
    """The (kernel, bias) names of a dense network, in order, if the manifest is one; else None."""
    names, shapes = manifest["tensorNames"], [tuple(s) for s in manifest["shapes"]]
    if not names or len(names) % 2:
        return None
    layers = []
    for i in range(0, len(names), 2):
        kernel, bias, ks, bs = names[i], names[i + 1], shapes[i], shapes[i + 1]
        chained = not layers or shapes[i - 2][1] == ks[0]
        if not (kernel.endswith("/kernel") and bias.endswith("/bias") and len(ks) == 2 and bs == (ks[1],) and chained):
            return None
        layers.append((kernel, bias))
    return layers


def train(start, layers, features, labels, h, rng):
    """Minibatch SGD on softmax cross-entropy (+ FedProx), from `start`; returns (weights, examples, loss).

    ReLU between layers, softmax out. An epoch is every example once, the last batch partial (as
    TF.js's fit); `localSteps`, when set, counts batches instead, reshuffling after each pass.
    """
    w = {k: v.copy() for k, v in start.items()}
    batch, n, mu, lr = h["batchSize"], len(labels), h["proximalMu"] or 0, h["learningRate"]
    steps = h["localSteps"] or h["localEpochs"] * -(-n // batch)
    order, position, seen, loss_sum = rng.permutation(n), 0, 0, 0.0
    for _ in range(steps):
        if position >= n:
            order, position = rng.permutation(n), 0
        idx = order[position : position + batch]
        position += batch
        y, rows = labels[idx], np.arange(len(idx))
        inputs = [features[idx]]  # each layer's input
        for kernel, bias in layers[:-1]:
            inputs.append(np.maximum(0, inputs[-1] @ w[kernel] + w[bias]))
        logits = inputs[-1] @ w[layers[-1][0]] + w[layers[-1][1]]
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        loss_sum += float(-np.log(np.clip(p[rows, y], 1e-7, 1)).sum())
        seen += len(idx)
        d = p  # d(mean loss)/d(logits), in place
        d[rows, y] -= 1
        d /= len(idx)
        grads = {}
        for j in range(len(layers) - 1, -1, -1):
            kernel, bias = layers[j]
            grads[kernel], grads[bias] = inputs[j].T @ d, d.sum(axis=0)
            if j:
                d = (d @ w[kernel].T) * (inputs[j] > 0)
        for k in w:
            g = grads[k] + mu * (w[k] - start[k]) if mu else grads[k]
            w[k] -= lr * g
    return w, seen, loss_sum / max(1, seen)


def delay_multiplier(args, rng):
    """A simulated slow site (as the TypeScript worker's TRIBUTARY_DELAY): m ≥ 1 times its training time.

    By default m multiplies the CPU time training took, not its wall time: on a shared host, wall
    time includes waiting for a core, and m would multiply that wait too (TRIBUTARY_DELAY_BASIS).
    """
    if args.delay_multiplier:
        return args.delay_multiplier
    if args.delay_sigma:
        return max(1.0, args.delay_scale * math.exp(args.delay_sigma * rng.gauss(0, 1)))
    return 1.0


def delay_seconds(args, multiplier, cpu_took, took, samples):
    """How long a simulated slow site waits after training (services/worker/delay.ts): (m − 1) × the
    training's CPU or wall time; on the `device` basis, what is left of m × a simulated device's time
    for the samples trained (none if this host was slower)."""
    if args.delay_basis == "device":
        return max(0.0, multiplier * samples * args.device_ms_per_sample / 1000 - took)
    return (multiplier - 1) * (cpu_took if args.delay_basis == "cpu" else took)


class Worker:
    def __init__(self, args):
        self.args, self.stopping, self.state, self.current = args, False, "IDLE", None
        self.registry = Registry(args.registry)
        self.serde = Serde(self.registry)
        self.models = Models()
        self.features, self.labels = exported_data(args.data) if args.data else silo_data(args.examples, args.seed)
        self.rng = np.random.default_rng(args.seed)
        self.delay_rng, self.layers = random.Random(args.seed), None
        self.tasks_done, self.last_examples = 0, 0
        job, me = args.job, args.worker_id
        self.topic = lambda kind: f"tributary.{job}.{kind}"
        common = {"bootstrap.servers": args.brokers}
        # Every send here is flushed at once (a check-in, an update): waiting 5 ms for more is only delay.
        sending = {**common, "linger.ms": 0}
        self.models_in = Consumer(
            {**common, "group.id": f"tributary.{job}.worker.{me}.models.{uuid.uuid4()}",
             "auto.offset.reset": "earliest", "isolation.level": "read_committed", "enable.auto.commit": False}
        )
        self.tasks_in = Consumer(
            {**common, "group.id": f"tributary.{job}.worker.{me}", "auto.offset.reset": "latest"}
        )
        self.out = Producer({**sending, "enable.idempotence": True})
        # The stack's brokers cap transactions at 30 s (transaction.max.timeout.ms); librdkafka asks 60 s.
        self.tx = Producer(
            {**sending, "transactional.id": f"tributary.{job}.worker.{me}", "enable.idempotence": True,
             "transaction.timeout.ms": 30000}
        )

    def start(self):
        deadline = time.time() + 600
        while not all(t in self.out.list_topics(timeout=10).topics for t in (self.topic("tasks"), self.topic("updates"))):
            if time.time() > deadline:
                raise SystemExit("the job's topics do not exist: is the coordinator running?")
            time.sleep(1)
        with open(os.path.join(SCHEMAS, "worker-check-in.v2.avsc")) as f:
            self.checkin_id = self.registry.register(f"{self.topic('checkins')}-value", f.read())
        self.update_file = f"model-update.v{self.args.update_schema}.avsc"
        with open(os.path.join(SCHEMAS, self.update_file)) as f:
            self.update_id = self.registry.register(f"{self.topic('updates')}-value", f.read())
        self.tx.init_transactions(30)
        # The first task's decode would otherwise wait on the registry (~0.1 s, measured in round 1).
        for kind in ("tasks", "models"):
            self.registry.prefetch(f"{self.topic(kind)}-value")
        self.models_in.subscribe([self.topic("models")])
        self.read_models_present(deadline=time.time() + 30)
        # Protocol rule 1: read only the partition of tasks keyed to me, from its end as it is before
        # the first check-in (a task leased in answer to that check-in is written after it).
        tasks = self.topic("tasks")
        count = len(self.out.list_topics(tasks, timeout=10).topics[tasks].partitions)
        mine = TopicPartition(tasks, partition_of_key(self.args.worker_id, count))
        self.tasks_in.assign([TopicPartition(tasks, mine.partition, self.end_offset(mine, deadline))])
        self.check_in()
        log("worker-started", workerId=self.args.worker_id, silo=self.args.silo, models=sorted(self.models.versions))

    def read_models_present(self, deadline):
        # Protocol: read the models there are before the first check-in. A task leased in answer to
        # it is otherwise held up behind the group join and the first fetch (~0.1 s, in round 1).
        models = TopicPartition(self.topic("models"), 0)
        end = self.end_offset(models, deadline)
        # No model yet (a coordinator still starting): the first task names version 0, so wait for
        # it as for the rest. Checking in without it, the first task waited on the models
        # consumer's group join and fetch (up to 0.17 s, measured in round 1).
        if end == 0:
            log("waiting-for-first-model", jobId=self.args.job)
        while end == 0 and time.time() < deadline:
            self.read_models(0.05)
            end = self.end_offset(models, deadline)
        while end > 0 and time.time() < deadline:
            self.read_models(0.05)
            self.decode_held(sorted(self.models.held))  # the first task's version is among them
            position = self.models_in.position([models])[0].offset
            # The last record of a committed step is its commit marker, which is never delivered.
            if self.models.versions and position >= end - 1:
                return
        log("models-not-read-before-check-in", endOffset=end)

    def end_offset(self, partition, deadline):
        # A topic just created may not have its leader known everywhere yet: retriable, so retried.
        while True:
            try:
                return self.tasks_in.get_watermark_offsets(partition, timeout=10)[1]
            except KafkaException as error:
                code = error.args[0].code()
                if code not in SETTLING or time.time() > deadline:
                    raise
                log("partition-settling", topic=partition.topic, error=str(error))
                time.sleep(0.2)

    def check_in(self):
        record = {
            "workerId": self.args.worker_id, "jobId": self.args.job, "silo": self.args.silo,
            "numExamples": self.last_examples,
            "capabilities": {"backend": "numpy", "maxPayloadBytes": self.args.max_chunk_bytes},
            "state": self.state, "currentTaskId": self.current, "sentAtMs": int(time.time() * 1000), "problem": None,
        }
        self.out.produce(self.topic("checkins"), key=self.args.worker_id,
                         value=self.serde.encode(self.checkin_id, "worker-check-in.v2.avsc", record))
        self.out.flush(10)

    def read_models(self, timeout):
        """Holds the models topic's new records by version; a record whose version cannot be read
        without decoding it is decoded now."""
        # poll() returns at the first record; consume() would wait out its whole timeout for 100.
        first = self.models_in.poll(timeout) if timeout else None
        rest = self.models_in.consume(num_messages=100, timeout=0)
        for message in ([first] if first is not None else []) + rest:
            if message.error():
                continue
            value = message.value()
            try:
                (schema_id,) = struct.unpack(">I", value[1:5])
                if not leads_with_version(self.registry.writer(schema_id)):
                    raise ValueError("the writer schema does not lead with the version")
                self.models.hold(peek_version(value), value)
            except Exception:  # decoded now, or found unreadable there
                self.accept_model(value)

    def accept_model(self, value):
        try:
            version = self.models.accept(self.serde.decode(value, "global-model.v1.avsc"))
        except Exception as error:  # a record we cannot read is skipped, never fatal
            log("model-record-unreadable", error=str(error))
            return
        if version is not None and self.layers is None:
            self.layers = self.trainable(self.models.manifest)

    def decode_held(self, versions):
        for version in versions:
            for value in self.models.take(version):
                self.accept_model(value)

    def trainable(self, manifest):
        """The manifest's dense layers, if this worker can train them on its data; else it leaves."""
        layers = dense_layers(manifest)
        if layers is not None:
            shapes = dict(zip(manifest["tensorNames"], manifest["shapes"]))
            fits = shapes[layers[0][0]][0] == self.features.shape[1]
            if fits and self.labels.max() < shapes[layers[-1][0]][1]:
                return layers
        log("layout-mismatch", manifest=manifest["tensorNames"], features=int(self.features.shape[1]))
        raise SystemExit(1)

    def model(self, version, timeout=60):
        deadline = time.time() + timeout
        self.decode_held([version])
        while version not in self.models.versions and time.time() < deadline:
            self.read_models(0.2)
            self.decode_held([version])
        return self.models.versions.get(version)

    def handle(self, task, received_at):
        # Protocol rule 3: no check-in while training (the lease said TRAINING), and no IDLE heartbeat.
        self.state, self.current = "TRAINING", task["taskId"]
        start = self.model(task["baseVersion"])
        if start is None:
            log("model-version-unavailable", baseVersion=task["baseVersion"])
            return False
        began = model_ready = int(time.time() * 1000)
        cpu_began = time.process_time()
        trained, examples, loss = train(start, self.layers, self.features, self.labels, task["hyperparameters"], self.rng)
        took = time.time() - began / 1000
        cpu_took = time.process_time() - cpu_began
        time.sleep(delay_seconds(self.args, delay_multiplier(self.args, self.delay_rng), cpu_took, took, examples))
        names = self.models.manifest["tensorNames"]
        delta = {k: start[k] - trained[k] for k in names}  # the sign of a gradient step
        encoding = self.args.encodings[self.tasks_done % len(self.args.encodings)]
        descriptors, data = encode_tensors(names, delta, encoding)
        update_id = f"{self.args.worker_id}-{task['taskId']}"
        envelope = {
            "updateId": update_id, "taskId": task["taskId"], "jobId": task["jobId"],
            "workerId": self.args.worker_id, "baseVersion": task["baseVersion"], "numExamples": examples,
            "tensors": descriptors, "metrics": {"loss": loss},
            "timings": {"startedAtMs": began, "finishedAtMs": int(time.time() * 1000)},
        }
        if self.args.update_schema == 3:  # when the task arrived and its model was ready: the round's stages
            envelope["timings"].update(taskReceivedAtMs=received_at, modelReadyAtMs=model_ready)
            envelope["signature"] = None
        size = self.args.max_chunk_bytes
        if len(data) <= size:
            records = [{**envelope, "data": data, "chunk": None}]
        else:
            digest, count = hashlib.sha256(data).digest(), -(-len(data) // size)
            records = [
                {**envelope, "data": data[i * size : (i + 1) * size],
                 "chunk": {"index": i, "count": count, "offset": i * size, "totalBytes": len(data), "sha256": digest}}
                for i in range(count)
            ]
        values = [self.serde.encode(self.update_id, self.update_file, r) for r in records]
        sent_at = time.time()
        if len(values) == 1:
            self.out.produce(self.topic("updates"), key=update_id, value=values[0])
            self.out.flush(30)
        else:  # all chunks or none: the coordinator reads read_committed
            self.tx.begin_transaction()
            for value in values:
                self.tx.produce(self.topic("updates"), key=update_id, value=value)
            self.tx.commit_transaction(30)
        self.tasks_done, self.last_examples = self.tasks_done + 1, examples
        log("update-published", updateId=update_id, baseVersion=task["baseVersion"], encoding=encoding,
            records=len(values), numExamples=examples, loss=round(loss, 4),
            trainMs=round(took * 1000, 1), trainCpuMs=round(cpu_took * 1000, 1),
            ackMs=round((time.time() - sent_at) * 1000, 1))
        return True

    def run(self):
        last_check_in = time.time()
        while not self.stopping and (self.args.max_tasks == 0 or self.tasks_done < self.args.max_tasks):
            self.read_models(0)
            message = self.tasks_in.poll(0.2)
            if message is not None and not message.error() and message.key() == self.args.worker_id.encode():
                received_at = int(time.time() * 1000)
                try:
                    task = self.serde.decode(message.value(), "train-task.v1.avsc")
                except Exception as error:
                    log("task-unreadable", error=str(error))
                    task = None
                mine = task and task["workerId"] == self.args.worker_id and task["jobId"] == self.args.job
                if mine and task["deadlineMs"] >= time.time() * 1000:
                    published = self.handle(task, received_at)
                    self.state, self.current = "IDLE", None
                    # Protocol rule 2: a published update says IDLE for us; without one, say it.
                    if not published:
                        self.check_in()
                    last_check_in = time.time()
            if self.state == "IDLE" and time.time() - last_check_in >= self.args.check_in_seconds:
                self.check_in()
                last_check_in = time.time()

    def stop(self):
        self.state, self.current = "LEAVING", None
        self.check_in()
        self.tasks_in.close()
        self.models_in.close()
        log("worker-stopped", tasksDone=self.tasks_done)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True


def stop_with_parent(parent_pid, worker, grace_seconds=15.0):
    """As the TypeScript services do (lib/run/parent.ts): a launcher that names itself in
    TRIBUTARY_PARENT_PID and then dies, even by SIGKILL, does not leave this worker running. Its
    parent pid, not whether that pid lives: an orphan is handed to another process at once."""
    if os.getppid() != parent_pid and pid_alive(parent_pid):
        # Inherited from further up (a launcher's child started this without naming itself).
        log("parent-pid-not-parent", parentPid=parent_pid, parent=os.getppid())
        return
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    log("parent-gone", parentPid=parent_pid)
    worker.stopping = True
    time.sleep(grace_seconds)
    os._exit(1)


def main():
    parser = argparse.ArgumentParser(description="A Tributary worker in Python (docs/protocol.md).")
    parser.add_argument("--brokers", default=os.environ.get("KAFKA_BROKERS", "localhost:9092"))
    parser.add_argument("--registry", default=os.environ.get("SCHEMA_REGISTRY_URL", "http://localhost:8081"))
    env = os.environ.get
    parser.add_argument("--job", default=env("TRIBUTARY_JOB_ID"), required=not env("TRIBUTARY_JOB_ID"))
    parser.add_argument("--worker-id", default=env("TRIBUTARY_WORKER_ID"), required=not env("TRIBUTARY_WORKER_ID"))
    parser.add_argument("--silo", default=env("TRIBUTARY_SILO"), required=not env("TRIBUTARY_SILO"))
    parser.add_argument("--examples", type=int, default=600, help="blobs-mlp examples in this silo")
    parser.add_argument("--data", help="train on <DATA>.images.f32 and <DATA>.labels.u8 instead of blobs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--encodings", default="FLOAT32", help="FLOAT32 and/or FLOAT16, used in turn per task")
    parser.add_argument("--max-chunk-bytes", type=int, default=4 * 1024 * 1024)
    parser.add_argument("--check-in-seconds", type=float, default=5.0)
    parser.add_argument("--max-tasks", type=int, default=0, help="stop after this many updates (0: never)")
    parser.add_argument("--delay-sigma", type=float, default=0.0, help="simulated slow site: log-normal σ")
    parser.add_argument("--delay-scale", type=float, default=1.0, help="simulated slow site: log-normal scale")
    parser.add_argument("--delay-multiplier", type=float, default=0.0, help="simulated slow site: fixed m")
    parser.add_argument("--delay-basis", choices=["cpu", "wall", "device"], default="cpu",
                        help="what m multiplies: the CPU time training took (default), its wall time, "
                             "or a simulated device's time (--device-ms-per-sample)")
    parser.add_argument("--device-ms-per-sample", type=float, default=0.1,
                        help="on the device basis: the simulated device's milliseconds per sample trained")
    parser.add_argument("--update-schema", type=int, choices=(1, 3), default=3,
                        help="ModelUpdate version written: 3 (with when the task and its model arrived) or 1")
    parser.add_argument("--parent-pid", type=int, default=env("TRIBUTARY_PARENT_PID") or "0",
                        help="stop when this process is no longer this worker's parent (0: never)")
    args = parser.parse_args()
    args.encodings = args.encodings.split(",")
    if any(e not in DTYPES for e in args.encodings) or args.max_chunk_bytes < 1:
        parser.error("--encodings takes FLOAT32 and/or FLOAT16; --max-chunk-bytes must be positive")
    worker = Worker(args)
    signal.signal(signal.SIGTERM, lambda *_: setattr(worker, "stopping", True))
    signal.signal(signal.SIGINT, lambda *_: setattr(worker, "stopping", True))
    if args.parent_pid > 0:
        threading.Thread(target=stop_with_parent, args=(args.parent_pid, worker), daemon=True).start()
    worker.start()
    try:
        worker.run()
    finally:
        worker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
