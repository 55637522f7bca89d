"""A real SMTP server on loopback for the email tests (aiosmtpd, in this process).

`smtp_sink` starts one on 127.0.0.1 with a free port; `sink.env` points a worker process
at it. Its `mode` decides what it does with the next messages:

- "accept": 250 after DATA; the message is kept in `sink.messages`.
- "refuse": 550 to the recipient (RCPT), a permanent refusal.
- "drop": the connection is closed in the middle of DATA, without a reply.
- "stall": DATA waits until `sink.release()`; `sink.stalled` is set meanwhile. A client
  that goes away while it waits gets no 250, and the message is not kept: a server takes
  a message only by acknowledging it.
"""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from collections.abc import Iterator
from email.message import Message

import pytest
from aiosmtpd.controller import Controller


class Sink:
    def __init__(self) -> None:
        self.mode = "accept"
        self.messages: list[Message] = []
        self.sessions = 0  # DATA commands seen, whatever came of them
        self.stalled = threading.Event()
        self._release: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.port = 0

    @property
    def env(self) -> dict[str, str]:
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.port),
            "EMAIL_USE_TLS": "false",
            "EMAIL_TIMEOUT": "10",
        }

    def release(self) -> None:
        if self._loop is not None and self._release is not None:
            self._loop.call_soon_threadsafe(self._release.set)

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if self.mode == "refuse":
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.sessions += 1
        if self.mode == "drop":
            server.transport.close()
            return "421 gone"  # never reaches the client
        if self.mode == "stall":
            self._loop = asyncio.get_running_loop()
            self._release = asyncio.Event()
            self.stalled.set()
            await self._release.wait()  # cancelled if the client goes away
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_sink() -> Iterator[Sink]:
    sink = Sink()
    sink.port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        sink.release()
        controller.stop()
