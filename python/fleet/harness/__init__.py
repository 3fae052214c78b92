"""The parts of the Fleet interop driver, python/fleet/federation.py (its command line), one job
per module:

  output     what the driver prints: one JSON object on stdout, logs on stderr
  processes  free ports, waiting for /health, staying in the foreground, killing process trees
  flwr_env   the flwr next to this interpreter: executables, environment, version, the flwr CLI
  superlink  start-superlink and stop: flower-superlink, optionally behind the recording proxy
  supernode  supernode: a Python flower-supernode
  control    run, status and register-node: the SuperLink's Control API through the flwr CLI
  smoke      smoke: the whole loop with Python SuperNodes
"""

from pathlib import Path

# python/fleet: the Flower app (app/), make_certs.py and trace_proxy.py
FLEET_DIR = Path(__file__).resolve().parent.parent
