"""The one naming scheme for handshake states, shared by toytls and TLS 1.3, and their table rows.

Both protocols name a state for what it waits for, as a class of that name:

    Expect<Message>   the handshake is under way; <Message> is the next one we accept
                      (ExpectClientHello, ExpectServerAuth, ExpectFinished, ...)
    Traffic           the handshake is done: application data flows both ways
    Failed            the peer broke the protocol; nothing it sends is read any more

Each protocol keeps its transitions as a table of `Transition` rows
(tls/toy/server.py SERVER_TRANSITIONS, tls/tls13/client.py CLIENT_TRANSITIONS,
...).  docs/state-machines.md is generated from those tables, and tests compare
them with the transitions a real handshake reports to its observer ("state"
events, previous -> next).

What this module owns: the names every protocol shares and the row type.
What it must never do: know either protocol; tls/toy and tls/tls13 both import it.
"""

from __future__ import annotations

from typing import NamedTuple

TRAFFIC = "Traffic"
FAILED = "Failed"
EXPECT_PREFIX = "Expect"


class Transition(NamedTuple):
    """One row of a state table: in `state`, `event` arrives, and `next_state` follows.

    `event` is a message name, optionally followed by the condition that picks
    this row among others for the same message: "ClientHello (no usable key share)".
    """

    state: str
    event: str
    next_state: str

    @property
    def message(self) -> str:
        """The message name of the event, without its condition."""
        return self.event.split(" (", 1)[0]


def is_state_name(name: str) -> bool:
    """True for a name that follows the scheme: Expect<Message>, Traffic or Failed."""
    if name in (TRAFFIC, FAILED):
        return True
    rest = name.removeprefix(EXPECT_PREFIX)
    return rest != name and rest[:1].isupper() and rest.isalnum()
