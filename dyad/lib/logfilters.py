"""Keep clinical data and link tokens out of logs and error reports.

Django's `django.request` logger attaches the request (POST data: a client's answers) to
every error record, and exception messages can carry row values (PostgreSQL's
"DETAIL: Failing row contains (…)"). This filter, set on the console handler and on the
`django.request` logger in settings.LOGGING, rewrites each record before any handler
sees it:

- the request object is removed (so no handler can report POST data or the body);
- a traceback keeps its frames and exception types but loses the exception messages;
- client link tokens in paths (/f/<token>) are masked.

No model imports here: logging is configured before the apps are loaded.
"""

from __future__ import annotations

import logging
import re
import traceback
from types import TracebackType

_TOKEN_PATH = re.compile(r"/f/[^/\s?#'\"]+")
MASKED_LINK_PATH = "/f/[token]"
MESSAGE_REMOVED = "[message removed: it may contain client data]"
# sys.exc_info()'s shape, as LogRecord.exc_info holds it.
ExcInfo = tuple[type[BaseException] | None, BaseException | None, TracebackType | None]


def mask_tokens(text: str) -> str:
    return _TOKEN_PATH.sub(MASKED_LINK_PATH, text)


def scrubbed_traceback(exc_info: ExcInfo) -> str:
    """The traceback's frames and exception types, without any exception message."""
    chain: list[tuple[BaseException, str]] = []  # innermost cause first
    exc: BaseException | None = exc_info[1]
    link, seen = "", set[int]()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.insert(0, (exc, link))
        if exc.__cause__ is not None:
            exc, link = exc.__cause__, _CAUSE
        elif exc.__context__ is not None and not exc.__suppress_context__:
            exc, link = exc.__context__, _CONTEXT
        else:
            exc = None
    lines: list[str] = []
    for position, (error, _link) in enumerate(chain):
        if position:
            lines.append(chain[position - 1][1])
        lines.append("Traceback (most recent call last):\n")
        lines.extend(traceback.format_list(traceback.extract_tb(error.__traceback__)))
        lines.append(f"{type(error).__module__}.{type(error).__qualname__}: {MESSAGE_REMOVED}\n")
    return mask_tokens("".join(lines)).rstrip("\n")


_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def _mask_arg(arg: object) -> object:
    return mask_tokens(arg) if isinstance(arg, str) else arg


class NoClinicalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_no_clinical_data", False):
            return True  # already rewritten (the logger's filter, then the handler's)
        record._no_clinical_data = True
        if getattr(record, "request", None) is not None:
            record.request = None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = scrubbed_traceback(record.exc_info)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = MESSAGE_REMOVED
        if isinstance(record.args, dict):
            record.args = {key: _mask_arg(value) for key, value in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_mask_arg(arg) for arg in record.args)
        if isinstance(record.msg, str):
            record.msg = mask_tokens(record.msg)
        return True
