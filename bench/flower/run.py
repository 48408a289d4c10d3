"""
Flower's FedAvg on the same task as Tributary's time-to-accuracy benchmark (bench/tta.ts):
the same MNIST split and Dirichlet(0.5) shards, the same initial weights and MLP (784-128-10),
the same local training (1 epoch, batch 32, SGD lr 0.1), the same client delay model, the same
number of clients and the same number training at once. Written by bench/flower.ts; prints nothing
but JSON lines, and appends one line per round to --curve.

Server and clients are separate processes talking gRPC on 127.0.0.1 (Flower's legacy
start_server/start_client API), as Tributary's coordinator and workers are separate processes.
"""
import argparse
import json
import math
import multiprocessing as mp
import os
import random
import sys
import time

import numpy as np

SHAPES = [(784, 128), (128,), (128, 10), (10,)]
# The CNN's weights in Keras's (and TF.js's) order: conv kernels HWIO, dense kernels (in, out).
CNN_SHAPES = [(3, 3, 1, 16), (16,), (3, 3, 16, 32), (32,), (800, 64), (64,), (64, 10), (10,)]


def load(path, count=None):
    images = np.fromfile(path + ".images.f32", dtype=np.float32).reshape(-1, 784)
    labels = np.fromfile(path + ".labels.u8", dtype=np.uint8)
    return images, labels


def split_flat(flat, shapes=SHAPES):
    out, offset = [], 0
    for shape in shapes:
        n = int(np.prod(shape))
        out.append(flat[offset:offset + n].reshape(shape).astype(np.float32))
        offset += n
    return out


def forward(params, x):
    w1, b1, w2, b2 = params
    h = np.maximum(0.0, x @ w1 + b1)
    logits = h @ w2 + b2
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    return h, p


def train_epoch(params, images, labels, lr, batch, rng):
    w1, b1, w2, b2 = [p.copy() for p in params]
    order = rng.permutation(len(labels))
    loss_sum = 0.0
    for start in range(0, len(order), batch):
        idx = order[start:start + batch]
        x, y = images[idx], labels[idx]
        h, p = forward((w1, b1, w2, b2), x)
        loss_sum += float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-7, 1)).sum())
        d = p
        d[np.arange(len(y)), y] -= 1.0
        d /= len(y)
        gw2, gb2 = h.T @ d, d.sum(axis=0)
        dh = (d @ w2.T) * (h > 0)
        gw1, gb1 = x.T @ dh, dh.sum(axis=0)
        w1 -= lr * gw1
        b1 -= lr * gb1
        w2 -= lr * gw2
        b2 -= lr * gb2
    return [w1, b1, w2, b2], loss_sum / len(order)


def accuracy(params, images, labels):
    _, p = forward(params, images)
    return float((p.argmax(axis=1) == labels).mean())


def keras_cnn(lr):
    """The Fashion-MNIST example's CNN (examples/fashion-mnist/task.ts), layer for layer, in Keras."""
    import tensorflow as tf

    model = tf.keras.Sequential([
        tf.keras.Input((28, 28, 1)),
        tf.keras.layers.Conv2D(16, 3, activation="relu"),
        tf.keras.layers.MaxPooling2D(2),
        tf.keras.layers.Conv2D(32, 3, activation="relu"),
        tf.keras.layers.MaxPooling2D(2),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(64, activation="relu"),
        tf.keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=tf.keras.optimizers.SGD(lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def train_steps_cnn(model, parameters, images, labels, steps, batch, rng):
    """`steps` SGD steps of `batch`, through the shuffled data and round again (as Tributary's steps)."""
    model.set_weights(parameters)
    order = np.concatenate([rng.permutation(len(labels)) for _ in range(1 + steps * batch // len(labels))])
    idx = order[: steps * batch]
    history = model.fit(images[idx].reshape(-1, 28, 28, 1), labels[idx], batch_size=batch, epochs=1, shuffle=False, verbose=0)
    return model.get_weights(), float(history.history["loss"][-1])


def run_client(args, index):
    import flwr as fl

    images, labels = load(os.path.join(args.data, f"worker-{index}"))
    rng = np.random.default_rng(args.seed * 1000 + index)
    delay_rng = random.Random(args.seed * 1000 + index)
    model = keras_cnn(args.lr) if args.model == "cnn" else None

    class Client(fl.client.NumPyClient):
        def fit(self, parameters, config):
            started, cpu_started = time.time(), time.process_time()
            if model is not None:
                params, loss = train_steps_cnn(model, parameters, images, labels, args.local_steps, 32, rng)
            else:
                params, loss = train_epoch(parameters, images, labels, args.lr, 32, rng)
            trained = time.time() - started
            cpu_trained = time.process_time() - cpu_started
            # The same delay model as Tributary's workers (services/worker/delay.ts), on the same basis.
            slow = index % args.slow_every == args.slow_every - 1
            multiplier = 10.0 if slow else max(1.0, math.exp(0.6 * delay_rng.gauss(0, 1)))
            if args.delay_basis == "device":  # a device of its own: m × its time for the samples trained
                samples = args.local_steps * 32 if model is not None else len(labels)
                time.sleep(max(0.0, multiplier * samples * args.device_ms_per_sample / 1000 - trained))
            else:
                time.sleep((multiplier - 1.0) * (cpu_trained if args.delay_basis == "cpu" else trained))
            return params, len(labels), {"loss": loss, "trainSeconds": trained, "clientSeconds": time.time() - started}

        def evaluate(self, parameters, config):
            return 0.0, len(labels), {}

        def get_properties(self, config):
            # Which client this is, for the server's seeded sampling (seeded_client_manager).
            return {"index": index}

    fl.client.start_client(server_address=args.address, client=Client().to_client(), insecure=True)


def seeded_client_manager(seed, cohorts):
    """Each round's clients, fixed by the seed, over the clients in index order (asked once, with
    get_properties, the first time a client could be sampled, before the clock starts).

    `rotation` (the default) chooses as Tributary's coordinator leases: least recently chosen
    first, ties by index. Each client is seeded as Tributary's worker of its index is (shuffles and
    delays), so the two systems then train the same clients in the same rounds with the same
    shuffles and delays, and take the same path to the target: what differs is the time a round.
    `random` samples with a generator of its own, seeded. flwr's own manager samples with Python's
    unseeded global `random` over clients in connection order, so the same seed chose different
    cohorts in every sitting (rounds to 0.90 moved from a median of 16 to 21 between two)."""
    from flwr.common import GetPropertiesIns
    from flwr.server import SimpleClientManager

    class SeededClientManager(SimpleClientManager):
        def __init__(self):
            super().__init__()
            self.rng = random.Random(seed)
            self.index = {}
            self.last_chosen = {}  # index -> the sample() call that last chose it
            self.calls = 0

        def sample(self, num_clients, min_num_clients=None, criterion=None):
            self.wait_for(num_clients if min_num_clients is None else min_num_clients)
            available = [cid for cid in self.clients if criterion is None or criterion.select(self.clients[cid])]
            for cid in available:
                if cid not in self.index:
                    res = self.clients[cid].get_properties(GetPropertiesIns(config={}), timeout=60, group_id=None)
                    self.index[cid] = int(res.properties["index"])
            if num_clients > len(available):
                return []
            ordered = sorted(available, key=lambda cid: self.index[cid])
            self.calls += 1
            if cohorts == "random":
                chosen = self.rng.sample(ordered, num_clients)
            else:
                least_recent = sorted(ordered, key=lambda cid: (self.last_chosen.get(self.index[cid], 0), self.index[cid]))
                chosen = least_recent[:num_clients]
                for cid in chosen:
                    self.last_chosen[self.index[cid]] = self.calls
            return [self.clients[cid] for cid in chosen]

    return SeededClientManager()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--address", default="127.0.0.1:18080")
    parser.add_argument("--curve", required=True)
    parser.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--local-steps", type=int, default=50)
    parser.add_argument("--slow-every", type=int, default=10)
    parser.add_argument("--delay-basis", choices=["cpu", "wall", "device"], default="cpu")
    parser.add_argument("--device-ms-per-sample", type=float, default=0.1)
    parser.add_argument("--cohorts", choices=["rotation", "random"], default="rotation")
    args = parser.parse_args()

    import flwr as fl
    from flwr.common import ndarrays_to_parameters

    test_images, test_labels = load(os.path.join(args.data, "test"))
    flat = np.fromfile(os.path.join(args.data, "initial.f32"), dtype=np.float32)
    # TensorFlow only after the clients are forked, in the server process (fork after TF is unsafe).
    server_model = []
    initial = split_flat(flat, CNN_SHAPES if args.model == "cnn" else SHAPES)
    started = time.time()
    last_round = [started]
    fit_times = {}
    # When the first round's clients are chosen and sent the model: training starts there, as
    # Tributary's clock starts at its first task lease. Before it is start-up (clients connecting).
    training_started = [None]

    def evaluate(server_round, parameters, config):
        now = time.time()
        if args.model == "cnn":
            if not server_model:
                server_model.append(keras_cnn(args.lr))
            server_model[0].set_weights(parameters)
            acc = float(server_model[0].evaluate(test_images.reshape(-1, 28, 28, 1), test_labels, verbose=0)[1])
        else:
            acc = accuracy(parameters, test_images, test_labels)
        entry = {"round": server_round, "seconds": now - started, "startedAtMs": started * 1000, "accuracy": acc,
                 "roundSeconds": now - last_round[0], "slowestClientSeconds": fit_times.get(server_round, 0.0),
                 "trainingStartedSeconds": None if training_started[0] is None else training_started[0] - started}
        last_round[0] = now
        with open(args.curve, "a") as f:
            f.write(json.dumps(entry) + "\n")
        return 0.0, {"accuracy": acc}

    def fit_metrics(results):
        # Called with the round's fit results: remember the slowest client, for per-round overhead.
        slowest = max((m.get("clientSeconds", 0.0) for _, m in results), default=0.0)
        fit_times[len(fit_times) + 1] = slowest
        return {"slowestClientSeconds": slowest}

    class TimedFedAvg(fl.server.strategy.FedAvg):
        def configure_fit(self, server_round, parameters, client_manager):
            chosen = super().configure_fit(server_round, parameters, client_manager)
            if training_started[0] is None:
                training_started[0] = time.time()
            return chosen

    strategy = TimedFedAvg(
        fraction_fit=args.per_round / args.clients,
        min_fit_clients=args.per_round,
        fraction_evaluate=0.0,
        min_evaluate_clients=0,
        min_available_clients=args.clients,
        initial_parameters=ndarrays_to_parameters(initial),
        evaluate_fn=evaluate,
        fit_metrics_aggregation_fn=fit_metrics,
    )
    clients = [mp.Process(target=run_client, args=(args, i), daemon=True) for i in range(args.clients)]
    for c in clients:
        c.start()
    print(json.dumps({"event": "flower-started", "clients": args.clients, "perRound": args.per_round}), flush=True)
    fl.server.start_server(server_address=args.address, config=fl.server.ServerConfig(num_rounds=args.rounds),
                           strategy=strategy, client_manager=seeded_client_manager(args.seed, args.cohorts))


if __name__ == "__main__":
    mp.set_start_method("fork")
    main()
