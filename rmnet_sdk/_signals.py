"""SIGTERM handling shared by the commands that write files (``rmnet inpaint``, ``rmnet video``).

Python's default SIGTERM kills the process without running ``finally`` blocks, which would leave
a temporary file behind and skip a folder run's summary. Raising :class:`Terminated` in the main
thread makes SIGTERM unwind like Ctrl-C.
"""

from __future__ import annotations

import signal


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so ``finally`` blocks run: the atomic writer removes
    its temporary file and a folder run prints its summary, as on Ctrl-C."""


def raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


def install_signal_handlers() -> None:
    """SIGTERM unwinds like SIGINT (call from the main thread: ``signal.signal``'s rule)."""
    signal.signal(signal.SIGTERM, raise_terminated)
