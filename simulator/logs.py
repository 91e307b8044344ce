"""JSON-line logging. Callers log ids of bodies and references only, never holder names or
certificate numbers."""

import logging
import sys

from pythonjsonlogger.json import JsonFormatter


class _WithoutColourCopy(logging.Filter):
    """uvicorn attaches an ANSI-coloured duplicate of each message; JSON logs do not want it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.pop("color_message", None)
        return True


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(_WithoutColourCopy())
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
