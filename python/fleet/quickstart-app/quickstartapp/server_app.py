"""The ServerApp of the bundle, for running the same app on a flwr SuperLink.

On the Java server (server.jar --fab) the server's own round loop sends the train and
evaluate messages and this ServerApp is never run.
"""

import numpy as np
from flwr.app import ArrayRecord, Context
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg

app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    rounds = int(context.run_config["num-server-rounds"])
    initial = ArrayRecord([np.array([1.0, -1.0, 0.25])])
    FedAvg().start(grid=grid, initial_arrays=initial, num_rounds=rounds)
