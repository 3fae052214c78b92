"""ServerApp entry point: run config `variant` picks the strategy flavour.

  variant="current": flwr.serverapp.strategy.FedAvg (Message API; payload keys
                     "arrays"/"config", replies "arrays"/"metrics").
  variant="legacy":  flwr.server.strategy.FedAvg driven by DefaultWorkflow on a
                     LegacyContext (payload keys "fitins.*"/"evaluateins.*").
Both write <out-dir>/outcome.json via fleetapp.outcome.
"""

import traceback

from flwr.app import Context
from flwr.serverapp import Grid, ServerApp

from fleetapp import server_current, server_legacy
from fleetapp.outcome import Outcome, resolve_out_dir

app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    cfg = context.run_config
    variant = str(cfg.get("variant", "current"))
    num_rounds = int(cfg.get("num-rounds", 3))
    outcome = Outcome(resolve_out_dir(cfg), variant, context.run_id, num_rounds)
    try:
        if variant == "current":
            server_current.run(grid, context, outcome, num_rounds)
        elif variant == "legacy":
            server_legacy.run(grid, context, outcome, num_rounds)
        else:
            raise ValueError(f"unknown variant {variant!r}")
    except BaseException:
        outcome.fail(traceback.format_exc())
        raise
