"""The key schedule of a trace page cannot lie: each snippet, run, prints the value shown beside it.

The page is generated from real connections (our client and server in memory,
each side's page; a HelloRetryRequest; a resumption; each cipher suite), the
snippets and the prelude are read back out of the HTML, and each snippet runs
in a fresh Python with `cryptography` after the prelude.  Its output must be
the hex shown in the step's `<code class="output">`.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys

import pytest

from tests.tls.conftest import DemoPki
from tests.tls.trace_support import resumed_session, tls13_session, toy_session
from tls_web_server.tls.tls13.enums import CipherSuite, NamedGroup
from tls_web_server.tls.trace import Trace
from tls_web_server.tls.trace_html import render_html

STEP = re.compile(
    r'<details class="step" id="([^"]+)"><summary>.*?<code class="output">([0-9a-f]*)</code>'
    r'.*?<pre class="snippet">(.*?)</pre></details>',
    re.DOTALL,
)
PRELUDE = re.compile(r'<pre class="snippet-prelude">(.*?)</pre>', re.DOTALL)


def page_steps(page: str) -> tuple[str, list[tuple[str, str, str]]]:
    prelude = PRELUDE.search(page)
    assert prelude is not None, "the page has no key schedule section"
    steps = [
        (anchor, output, html.unescape(snippet)) for anchor, output, snippet in STEP.findall(page)
    ]
    return html.unescape(prelude.group(1)), steps


def run_all_snippets(page: str) -> list[str]:
    """Run every snippet in one process (each in a namespace of its own); return the names run."""
    prelude, steps = page_steps(page)
    assert steps
    program = [prelude, "import contextlib, io", "results = []"]
    for _, _, snippet in steps:
        program.append(
            "buffer = io.StringIO()\n"
            "with contextlib.redirect_stdout(buffer):\n"
            f"    exec({snippet!r}, dict(globals()))\n"
            "results.append(buffer.getvalue().strip())"
        )
    program.append("print('\\n'.join(results))")
    completed = subprocess.run(
        [sys.executable, "-c", "\n".join(program)], capture_output=True, text=True, check=True
    )
    printed = completed.stdout.splitlines()
    assert len(printed) == len(steps)
    for (anchor, shown, _), output in zip(steps, printed, strict=True):
        assert output == shown, f"{anchor}: the snippet printed {output}, the page shows {shown}"
    return [anchor for anchor, _, _ in steps]


def test_every_snippet_of_both_sides_prints_its_value(ecdsa_pki: DemoPki) -> None:
    session = tls13_session(ecdsa_pki)
    for trace in (session.client_trace, session.server_trace):
        page = render_html(trace, title="snippets")
        names = run_all_snippets(page)
        assert len(names) > 20
        assert "✘" not in page  # every value agrees with what the connection used
    server_page = render_html(session.server_trace, title="server")
    client_page = render_html(session.client_trace, title="client")
    # Each side's page recomputes the shared secret from its own ephemeral private key.
    assert "X25519PrivateKey.from_private_bytes" in server_page
    assert "X25519PrivateKey.from_private_bytes" in client_page
    assert "tls13 c hs traffic" in server_page
    assert "client record 0 under client_application_traffic_secret_0: decrypted" in server_page


@pytest.mark.parametrize("suite", list(CipherSuite))
def test_snippets_for_each_cipher_suite(ecdsa_pki: DemoPki, suite: CipherSuite) -> None:
    session = tls13_session(ecdsa_pki, server_settings={"cipher_suites": (suite,)})
    page = render_html(session.server_trace, title=suite.name)
    run_all_snippets(page)
    assert "✔ the value the connection used" in page


def test_snippets_after_a_hello_retry_request(ecdsa_pki: DemoPki) -> None:
    session = tls13_session(
        ecdsa_pki,
        client_settings={"key_share_groups": (NamedGroup.x25519,)},
        server_settings={"groups": (NamedGroup.secp256r1,)},
    )
    page = render_html(session.client_trace, title="hrr")
    run_all_snippets(page)
    assert "message_hash" in page


def test_snippets_of_a_resumed_connection(ecdsa_pki: DemoPki) -> None:
    _, second = resumed_session(ecdsa_pki)
    for trace in (second.client_trace, second.server_trace):
        run_all_snippets(render_html(trace, title="resumed"))


def test_a_changed_value_is_caught() -> None:
    """The checker itself fails when a page shows a value its snippet does not print."""
    page = (
        '<pre class="snippet-prelude">x = 1</pre>'
        '<details class="step" id="step-1"><summary><code class="output">00</code></summary>'
        '<pre class="snippet">print("01")</pre></details>'
    )
    with pytest.raises(AssertionError):
        run_all_snippets(page)


def test_a_trace_without_tls13_has_no_key_schedule() -> None:
    trace = Trace("client")
    trace.add_note("nothing happened")
    assert 'id="key-schedule"' not in render_html(trace, title="empty")


@pytest.mark.parametrize("group", [NamedGroup.secp256r1, NamedGroup.secp384r1])
def test_the_server_page_recomputes_a_nist_shared_secret(ecdsa_pki: DemoPki, group) -> None:
    session = tls13_session(
        ecdsa_pki,
        client_settings={"key_share_groups": (group,)},
        server_settings={"groups": (group,)},
    )
    page = render_html(session.server_trace, title=group.name)
    assert "ec.derive_private_key" in page
    run_all_snippets(page)


def test_a_hybrid_shared_secret_recomputes_its_x25519_half() -> None:
    """X25519MLKEM768 as a server would report it: the ML-KEM half given, the X25519 half remade."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    from tls_web_server.tls.tls13.key_schedule_explained import _shared_secret_step

    server, client = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    client_share = bytes(1184) + client.public_key().public_bytes_raw()
    shared = bytes(range(32)) + server.exchange(client.public_key())
    event = {
        "kind": "key_exchange",
        "group": "X25519MLKEM768",
        "private_key": server.private_bytes_raw(),
        "peer_share": client_share,
    }
    step = _shared_secret_step([event], shared)
    assert step is not None
    name, _, _, output, snippet = step
    printed = subprocess.run(
        [sys.executable, "-c", snippet], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert name == "shared_secret" and printed == output.hex() == shared.hex()


def test_every_snippet_of_a_toytls_page_prints_its_value(ecdsa_pki: DemoPki) -> None:
    session = toy_session(ecdsa_pki)
    for trace in (session.client_trace, session.server_trace):
        page = render_html(trace, title="toytls")
        names = run_all_snippets(page)
        assert len(names) >= 5  # PRK, two keys, a record each way
        assert "✘" not in page and "toy tls client write key" in page
    server_page = render_html(session.server_trace, title="toytls server")
    assert "X25519PrivateKey.from_private_bytes" in server_page  # the shared secret, remade
    assert "client record 0: decrypted" in server_page
