"""The fuzz harnesses, by name: each module has `test_one_input(data: bytes) -> None`.

A harness returns normally when our code answered the input the documented
way (a result, or the module's one error type), and raises anything else: an
unexpected exception type escaping our code, or `HarnessFailure` (support.py)
when a property it checks does not hold.  The seed corpus of harness NAME is
fuzz/corpus/NAME/.

Importing this package must not import tls_web_server (see fuzz/__init__.py).
"""

HARNESS_NAMES = (
    "config_parser",
    "http_parser",
    "tls13_record",
    "tls13_codec",
    "tls13_server",
    "tls13_server_after_hello",
    "tls13_client",
    "toytls",
    "http2",
)
