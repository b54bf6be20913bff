"""Driving `openssl s_client`: one-shot runs, an interactive session, and its `-msg` output.

What this module owns:
- The s_client command line every interop test starts from (verifying the
  chain *and* the host name, failing on a verification error).
- `InteractiveProcess`: a child whose output is collected by a reader thread,
  so a test can wait for a given line (with a deadline) before it sends the
  next command.  Sequencing is by what the peer printed, never by sleeping.
- Parsing `-msg` output back into handshake messages (s_client hex-dumps
  each one), and the two facts read from them: whether a ServerHello is a
  HelloRetryRequest, and which group it selects.

What it must never do: kill anything but the process it started.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from dataclasses import dataclass
from types import TracebackType

from tests.interop.harness import CLIENT_TIMEOUT_SECONDS, InteropServer

# RFC 8446 section 4.1.3: a HelloRetryRequest is a ServerHello whose random is
# SHA-256("HelloRetryRequest").
HELLO_RETRY_REQUEST_RANDOM = bytes.fromhex(
    "CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C"
)
KEY_SHARE_EXTENSION = 51  # RFC 8446 section 4.2
SECP256R1 = 0x0017  # RFC 8446 section 4.2.7, NamedGroup

# One request, then the server closes (so a one-shot s_client exits by itself).
CLOSING_REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


def s_client_command(server: InteropServer, *options: str) -> list[str]:
    """s_client against the ssl listener, trusting only the test root, TLS 1.3 only."""
    return [
        "openssl",
        "s_client",
        "-connect",
        f"127.0.0.1:{server.ssl_port}",
        "-servername",
        "localhost",
        "-CAfile",
        str(server.root_cert),
        "-tls1_3",
        # Without these two, s_client reports a bad chain or name and carries on.
        "-verify_return_error",
        "-verify_hostname",
        "localhost",
        *options,
    ]


def run_s_client(server: InteropServer, *options: str) -> str:
    """One connection sending CLOSING_REQUEST; returns stdout and stderr together."""
    # -ign_eof: keep reading after our stdin ends, until the server closes
    # (after the response, as the request asks), so tickets and the response
    # are all in the output.
    result = subprocess.run(
        s_client_command(server, "-ign_eof", *options),
        input=CLOSING_REQUEST,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=CLIENT_TIMEOUT_SECONDS * 2,
        check=False,
    )
    output = result.stdout.decode("utf-8", "replace")
    assert result.returncode == 0, output
    return output


# ---------------------------------------------------------------------------
# an interactive s_client
# ---------------------------------------------------------------------------


class InteractiveProcess:
    """A child process with a pipe for stdin; its merged output is gathered as it comes."""

    def __init__(self, command: list[str]) -> None:
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self._output = bytearray()
        self._ended = False
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._collect_output, daemon=True)
        self._reader.start()

    def _collect_output(self) -> None:
        assert self._process.stdout is not None
        descriptor = self._process.stdout.fileno()
        while chunk := os.read(descriptor, 65536):
            with self._changed:
                self._output += chunk
                self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    @property
    def output(self) -> str:
        """Everything printed so far; latin-1 maps byte i to character i, so offsets agree."""
        with self._changed:
            return self._output.decode("latin-1")

    def wait_for(
        self, text: str, *, after: int = 0, timeout: float = CLIENT_TIMEOUT_SECONDS
    ) -> int:
        """Wait until `text` appears at or after offset `after`; returns the offset just past it."""
        needle = text.encode()
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = self._output.find(needle, after)
                if found >= 0:
                    return found + len(needle)
                if self._ended:
                    raise AssertionError(
                        f"the process ended before {text!r} appeared; output:\n{self.output}"
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"{text!r} did not appear within {timeout} s; output:\n{self.output}"
                    )
                self._changed.wait(remaining)

    def send(self, data: bytes) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(data)
        self._process.stdin.flush()

    def finish(self, timeout: float = CLIENT_TIMEOUT_SECONDS) -> int:
        """Close stdin (s_client then says goodbye) and wait for the exit status."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        returncode = self._process.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        return returncode

    def __enter__(self) -> InteractiveProcess:
        return self

    def __exit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=CLIENT_TIMEOUT_SECONDS)
        if self._process.stdin is not None and not self._process.stdin.closed:
            self._process.stdin.close()
        self._reader.join(timeout=CLIENT_TIMEOUT_SECONDS)
        if self._process.stdout is not None:
            self._process.stdout.close()


# ---------------------------------------------------------------------------
# reading `-msg` output
# ---------------------------------------------------------------------------

# s_client -msg prints, for each handshake message, a header line such as
#   <<< TLS 1.3, Handshake [length 0058], ServerHello
# followed by the whole message (4-byte header included) as indented hex lines.
_MESSAGE_HEADER = re.compile(
    r"^(?P<direction><<<|>>>) TLS 1\.\d, Handshake \[length (?P<length>[0-9a-f]{4})\], "
    r"(?P<name>\w+)\n(?P<dump>(?:    [0-9a-f]{2}(?: [0-9a-f]{2})*\n)+)",
    re.MULTILINE,
)


@dataclass(frozen=True)
class TracedMessage:
    received: bool  # True for <<< (from the server), False for >>> (sent by s_client)
    name: str
    body: bytes  # the handshake message including its 4-byte header
    offset: int  # where its header starts in the output


def traced_handshake_messages(output: str) -> list[TracedMessage]:
    """Every handshake message s_client -msg printed, in order."""
    messages = []
    for match in _MESSAGE_HEADER.finditer(output):
        body = bytes.fromhex(match["dump"].replace("\n", " "))
        if len(body) != int(match["length"], 16):
            raise AssertionError(f"truncated -msg dump for {match['name']}: {match[0]!r}")
        messages.append(
            TracedMessage(
                received=match["direction"] == "<<<",
                name=match["name"],
                body=body,
                offset=match.start(),
            )
        )
    return messages


def is_hello_retry_request(server_hello: bytes) -> bool:
    # handshake type (1) + length (3) + legacy_version (2), then the 32-byte random.
    return server_hello[6:38] == HELLO_RETRY_REQUEST_RANDOM


def selected_group(hello_retry_request: bytes) -> int:
    """The NamedGroup in a HelloRetryRequest's key_share extension (RFC 8446 section 4.2.8)."""
    offset = 38
    session_id_length = hello_retry_request[offset]
    offset += 1 + session_id_length + 2 + 1  # legacy_session_id, cipher_suite, compression
    extensions_end = offset + 2 + int.from_bytes(hello_retry_request[offset : offset + 2])
    offset += 2
    while offset + 4 <= extensions_end:
        extension_type = int.from_bytes(hello_retry_request[offset : offset + 2])
        length = int.from_bytes(hello_retry_request[offset + 2 : offset + 4])
        data = hello_retry_request[offset + 4 : offset + 4 + length]
        if extension_type == KEY_SHARE_EXTENSION:
            # In a HelloRetryRequest, key_share holds only the selected group.
            if length != 2:
                raise AssertionError(f"HelloRetryRequest key_share of {length} bytes: {data.hex()}")
            return int.from_bytes(data)
        offset += 4 + length
    raise AssertionError(f"no key_share in HelloRetryRequest {hello_retry_request.hex()}")
