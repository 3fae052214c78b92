"""flwr's start_server with DifferentialPrivacyClientSideFixedClipping, checking the clients clip.

Used by DifferentialPrivacyClientInteropTest (flower-java-sdk): Java clients with their clipping
step on join this real Python server. The wrapper sends clipping_norm in every fit config; the
wrapped FedAvg measures each returned update (the client's model minus the round's model, in
float64) and the script fails if any is above the clipping norm (float32 rounding allowed).
summary.json lists the norms.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from flwr.common import parameters_to_ndarrays
from flwr.server import ServerConfig, start_server
from flwr.server.strategy import DifferentialPrivacyClientSideFixedClipping, FedAvg


class NormMeasuringFedAvg(FedAvg):
    """FedAvg that records the L2 norm of every update it aggregates, and each fit config."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.round_model = None
        self.norms = {}
        self.configs = {}

    def configure_fit(self, server_round, parameters, client_manager):
        self.round_model = parameters_to_ndarrays(parameters)
        return super().configure_fit(server_round, parameters, client_manager)

    def aggregate_fit(self, server_round, results, failures):
        for failure in failures:
            print(f"fit failure in round {server_round}: {failure!r}", flush=True)
        self.norms[server_round] = [
            float(
                np.sqrt(
                    sum(
                        np.sum((a.astype(np.float64) - b.astype(np.float64)) ** 2)
                        for a, b in zip(
                            parameters_to_ndarrays(res.parameters), self.round_model, strict=True
                        )
                    )
                )
            )
            for _, res in results
        ]
        return super().aggregate_fit(server_round, results, failures)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--clipping-norm", type=float, required=True)
    parser.add_argument("--noise-multiplier", type=float, default=0.0)
    parser.add_argument("--out", type=Path, required=True, help="directory for summary.json")
    args = parser.parse_args()

    inner = NormMeasuringFedAvg(
        min_fit_clients=args.clients,
        min_evaluate_clients=args.clients,
        min_available_clients=args.clients,
        fraction_evaluate=0.0,
    )
    strategy = DifferentialPrivacyClientSideFixedClipping(
        inner,
        noise_multiplier=args.noise_multiplier,
        clipping_norm=args.clipping_norm,
        num_sampled_clients=args.clients,
    )
    start_server(
        server_address=f"127.0.0.1:{args.port}",
        config=ServerConfig(num_rounds=args.rounds, round_timeout=120),
        strategy=strategy,
    )

    summary = {"clipping_norm": args.clipping_norm, "norms": inner.norms}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary))
    print("server finished:", json.dumps(summary), flush=True)
    # the client rebuilds its model as model + clipped update in float32: a few float32 roundings
    # of the model's values stand between the norm it clipped to and the one measured here
    limit = args.clipping_norm * (1 + 1e-5)
    above = [(r, n) for r, norms in inner.norms.items() for n in norms if n > limit]
    if above or len(inner.norms) != args.rounds:
        sys.exit(f"updates above the clipping norm {args.clipping_norm}: {above}")


if __name__ == "__main__":
    main()
