"""flwr side of StrategyParityTest (flower-java-server): flwr's own strategies, round by round.

Usage:
  python strategy_parity.py CASE_DIR...

Each CASE_DIR holds, as the Java test wrote them:
  case.txt               "class NAME" (a class of flwr.server.strategy), then one line per
                         constructor argument: "option KEY int|float VALUE" (one the Java
                         strategy takes too) or "flwr_option KEY int|float VALUE" (flwr's alone,
                         e.g. Bulyan's to_keep, which flwr passes on to its Krum)
  init_t<T>.npy          the initial parameters, tensor T
  r<R>_clients.txt       round R's clients, one line each: "num_examples loss"
  r<R>_c<C>_t<T>.npy     client C's fit result in round R, tensor T
and gets, written here, for each round R:
  r<R>_config.txt        the fit config flwr's configure_fit sent: "key<TAB>type<TAB>repr(value)"
  r<R>_out_t<T>.npy      the parameters aggregate_fit returned, or
  r<R>_none              when it returned None (the model stays as it was)
or error.txt (the traceback) when flwr raised.

The strategy is driven as flwr's Server drives it (start_server): initialize_parameters once, then
per round configure_fit with the current model and aggregate_fit on every client's result, the
returned model becoming the next round's current one. One strategy object lives through the rounds,
so whatever it carries (FedOpt's moments, FedAvgM's momentum, QFedAvg's pre_weights) is carried as
flwr carries it. The server-side evaluate_fn is the one the Java test uses: 0.5 + mean |w| over
every value of the model (QFedAvg reads its loss from it).
"""

import os
import sys
import traceback

import numpy as np
from flwr.common import Code, FitRes, Status, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.server import strategy as flwr_strategy


class _Proxy:
    """Stands in for a connected client: the strategies only pass it along."""

    def __init__(self, cid):
        self.cid = cid


class _Clients:
    """A client manager holding n clients; sample gives all of them, in order."""

    def __init__(self, n):
        self.proxies = [_Proxy(f"c{i}") for i in range(n)]

    def num_available(self):
        return len(self.proxies)

    def sample(self, num_clients, min_num_clients=None, criterion=None):
        return self.proxies[: min(num_clients, len(self.proxies))]


def evaluate_fn(server_round, ndarrays, config):
    flat = np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in ndarrays])
    return 0.5 + float(np.mean(np.abs(flat))), {}


def tensors(case_dir, prefix):
    out = []
    while os.path.exists(os.path.join(case_dir, f"{prefix}_t{len(out)}.npy")):
        out.append(np.load(os.path.join(case_dir, f"{prefix}_t{len(out)}.npy")))
    return out


def read_case(case_dir):
    class_name = None
    options = {}
    with open(os.path.join(case_dir, "case.txt"), encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "class":
                class_name = parts[1]
            elif parts[0] in ("option", "flwr_option"):
                key, kind, value = parts[1], parts[2], parts[3]
                options[key] = int(value) if kind == "int" else float(value)
            else:
                raise ValueError(f"case.txt: unknown line {line!r}")
    return class_name, options


def build(class_name, options, initial):
    cls = getattr(flwr_strategy, class_name)
    if class_name.startswith("DifferentialPrivacy"):
        # the wrappers take the strategy they wrap; Java's wrap the FedAvg it builds them on
        inner = flwr_strategy.FedAvg(initial_parameters=initial, evaluate_fn=evaluate_fn)
        return cls(inner, **options)
    return cls(initial_parameters=initial, evaluate_fn=evaluate_fn, **options)


def scalar_line(key, value):
    # bool before int: a Python bool is an int
    for kind, types in (("bool", bool), ("int", int), ("float", float), ("str", str)):
        if isinstance(value, types):
            return f"{key}\t{kind}\t{value!r}"
    return f"{key}\tbytes\t{bytes(value).hex()}"


def run(case_dir):
    class_name, options = read_case(case_dir)
    initial = ndarrays_to_parameters(tensors(case_dir, "init"))
    strategy = build(class_name, options, initial)
    current = strategy.initialize_parameters(_Clients(0))
    if current is None:
        current = initial
    r = 1
    while os.path.exists(os.path.join(case_dir, f"r{r}_clients.txt")):
        with open(os.path.join(case_dir, f"r{r}_clients.txt"), encoding="utf-8") as f:
            rows = [line.split() for line in f if line.strip()]
        clients = _Clients(len(rows))
        instructions = strategy.configure_fit(r, current, clients)
        config = instructions[0][1].config if instructions else {}
        with open(os.path.join(case_dir, f"r{r}_config.txt"), "w", encoding="utf-8") as f:
            for key in sorted(config):
                f.write(scalar_line(key, config[key]) + "\n")
        results = []
        for c, (num_examples, loss) in enumerate(rows):
            update = tensors(case_dir, f"r{r}_c{c}")
            fit_res = FitRes(
                Status(Code.OK, "Success"),
                ndarrays_to_parameters(update),
                int(num_examples),
                {"loss": float(loss)},
            )
            results.append((clients.proxies[c], fit_res))
        aggregated, _ = strategy.aggregate_fit(r, results, [])
        if aggregated is None:
            open(os.path.join(case_dir, f"r{r}_none"), "w", encoding="utf-8").close()
        else:
            for t, a in enumerate(parameters_to_ndarrays(aggregated)):
                np.save(os.path.join(case_dir, f"r{r}_out_t{t}.npy"), a)
            current = aggregated
        r += 1


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for case in sys.argv[1:]:
        try:
            run(case)
        except Exception:  # reported to the Java side, case by case
            with open(os.path.join(case, "error.txt"), "w", encoding="utf-8") as f:
                f.write(traceback.format_exc())
    print("ok", len(sys.argv) - 1)
