"""Entry point: `python -m simulator` (settings from SIMULATOR_* env vars)."""

import uvloop

from simulator.logs import configure_logging
from simulator.server import serve_until_signalled
from simulator.settings import SimulatorSettings


def main() -> None:
    settings = SimulatorSettings()
    configure_logging(settings.log_level)
    uvloop.run(serve_until_signalled(settings))


if __name__ == "__main__":
    main()
