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


def wants_json(json: bool | None) -> bool:
    """``None``: JSON when stderr is not a terminal (a container, a service
    manager, a pipe to a collector), console lines for a person at a terminal."""
    if json is not None:
        return json
    return not (sys.stderr is not None and sys.stderr.isatty())


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The standard library's records (uvicorn, SQLAlchemy, asyncio) rendered by
    the same processors, to ``sys.stderr`` as it is now (see CurrentStderrLogger)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(level: str = "INFO", *, json: bool | None = False) -> None:
    """structlog and the standard library's logging, one format for both: JSON
    lines (``json``, or ``None`` off a terminal) or console lines. Ids bound with
    ``structlog.contextvars`` (the orchestrator binds the call being handled)
    appear on every line written meanwhile."""
    as_json = wants_json(json)
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
    ]
    root = logging.getLogger()
    root.setLevel(level.upper())
    for handler in [h for h in root.handlers if isinstance(h, _CurrentStderrHandler)]:
        root.removeHandler(handler)
    if as_json:
        handler = _CurrentStderrHandler()
        handler.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
                foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            )
        )
        root.addHandler(handler)
    else:
        logging.basicConfig(format="%(message)s", level=level.upper())
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=stderr_logger,
        cache_logger_on_first_use=True,
    )
