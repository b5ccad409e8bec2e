"""structlog set-up: console lines for people, JSON lines for log collectors.

Logs go to stderr, like uvicorn's: stdout belongs to what a command prints
(``callcenter bench ... --json`` is read by scripts), so a log line must never
land in the middle of it."""

from __future__ import annotations

import logging
import sys

import structlog


class CurrentStderrLogger(structlog.PrintLogger):
    """Prints each line to ``sys.stderr`` as it is when the line is written.

    structlog's own factory keeps the stream it was given: a logger configured
    while a CLI runner (or a test) had swapped stderr would keep writing to that
    stream after it is closed, and every later log line would raise."""

    def __init__(self) -> None:
        super().__init__(sys.__stderr__)

    def msg(self, message: str) -> None:
        with self._lock:
            print(message, file=sys.stderr, flush=True)

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


def stderr_logger(*_args: object) -> CurrentStderrLogger:
    return CurrentStderrLogger()


def configure_logging(level: str = "INFO", *, json: bool = False) -> None:
    logging.basicConfig(format="%(message)s", level=level.upper())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=stderr_logger,
        cache_logger_on_first_use=True,
    )
