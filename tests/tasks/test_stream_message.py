"""The task stream's ``output`` messages are written directly: byte for byte what the kernel's
``sse_message`` makes of the same chunk (as UTF-8 bytes)."""

from __future__ import annotations

import base64
import os

import pytest
from argus.kernel.api import sse_message
from argus.plugins.tasks.routes import _output_message


@pytest.mark.parametrize("data", [b"x", b"\r\n\x1b[0m\"\\" * 40, os.urandom(3000), bytes(range(256))])
@pytest.mark.parametrize("offset", [0, 7, 2**40])
def test_output_message_is_the_sse_message_of_the_chunk(data: bytes, offset: int) -> None:
    expected = sse_message({"offset": offset, "data": base64.b64encode(data).decode()}, event="output",
                           id=offset + len(data))
    assert _output_message(offset, data) == expected.encode()  # built as bytes, sent as they are
