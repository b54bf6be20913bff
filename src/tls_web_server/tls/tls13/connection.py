"""What a TLS 1.3 client and server share: records in and out, key changes, alerts, the contract.

What this module owns:
- `TLS13Connection`, the base of the server (server.py) and the client
  (client.py).  It turns TCP bytes into records (record.py), records into
  handshake messages, alerts and application data, and keeps the rules of
  RFC 8446 section 5 that do not depend on the role: which content types may
  arrive under which keys, ChangeCipherSpec for middlebox compatibility,
  messages aligned with key changes, alerts, KeyUpdate and close_notify.
- The handshake itself is delegated to a *state* object named for what it
  waits for (ExpectClientHello, ExpectFinished, ...).  A state handles one
  handshake message through a narrow context (handshake_context.py: send,
  install keys, log a secret, random, clock) and returns the next state; a
  message a state does not expect is an unexpected_message.  The connection
  is established when a state returns `Traffic`, which only the proof of a
  verified Finished can build; then only KeyUpdate and NewSessionTicket remain.
  The states hold the handshake's data (transcript, suite, secrets); this
  class holds only the records'.
- The one place where a TLSError becomes an alert on the wire (`_fail`).

What it must never do: read the clock or draw randomness (callers pass
`random_bytes` and `clock`), touch a socket, or raise anything but TLSError
for what the peer sends.  Any other exception from peer input is a bug; it
is still turned into an internal_error alert so one connection's bug cannot
escape as something the server does not expect.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from ..api import Negotiated, Observer
from ..errors import AlertDescription, AlertLevel, TLSError, TLSUsageError
from ..handshake_states import FAILED
from ..keylog import keylog_line
from ..names import describe
from . import key_schedule
from .enums import CipherSuiteParameters, ContentType, HandshakeType, KeyUpdateRequest
from .handshake_context import HandshakeInput, HandshakeState, Traffic, unexpected
from .handshake_framing import HANDSHAKE_HEADER_LENGTH, HandshakeMessageBase
from .messages import HandshakeBuffer, KeyUpdate
from .record import MAX_PLAINTEXT_LENGTH, RecordProtection, RecordReader, encode_plaintext_record

_HANDSHAKE = int(ContentType.handshake)
_ALERT = int(ContentType.alert)
_APPLICATION_DATA = int(ContentType.application_data)
_CHANGE_CIPHER_SPEC = int(ContentType.change_cipher_spec)

# AES-GCM keys are good for 2^24.5 full records (RFC 8446 section 5.5); we
# move to the next key well before that, whatever the cipher suite.
KEY_UPDATE_AFTER_RECORDS = 1 << 24

# What a peer may make us do for nothing (docs/tls13.md lists each limit and
# why).  Each is a run of records carrying no application data, ended (its
# count back to zero) by the next non-empty application data record; past a
# limit the peer abuses the protocol: unexpected_message, as in BoringSSL.

# KeyUpdates in a row (BoringSSL's kMaxKeyUpdates).  Each costs a key
# derivation and, when it asks for one, a KeyUpdate back: 10,000 of them in
# 270 KB would make us send 270 KB.  No honest peer needs 32 over no data.
MAX_KEY_UPDATES_WITHOUT_DATA = 32
# Empty application_data records in a row (OpenSSL's MAX_EMPTY_RECORDS):
# section 5.4 allows them against traffic analysis; each costs an AEAD open.
MAX_EMPTY_RECORDS = 32
# Warning alerts in a row (BoringSSL's kMaxWarningAlerts): TLS 1.3's only
# warning is user_canceled, which close_notify follows (section 6.1).
MAX_WARNING_ALERTS = 4


class TLS13Connection:
    """Records, keys and alerts for one TLS 1.3 connection; subclasses add a role.

    To its states it is a HandshakeContext (handshake_context.py): they are
    typed against that protocol and use nothing else of it.
    """

    # Handshake messages from the peer larger than this are refused (decode_error).
    max_handshake_message_size: ClassVar[int] = 1 << 16

    def __init__(
        self,
        state: HandshakeState,
        *,
        random_bytes: Callable[[int], bytes],
        clock: Callable[[], float],
        observer: Observer | None = None,
        keylog: Callable[[str], None] | None = None,
    ) -> None:
        self.random_bytes = random_bytes
        self.clock = clock
        self.observer = observer
        self.keylog = keylog
        self._state: HandshakeState = state
        self._records = RecordReader()
        self._handshake_buffer = HandshakeBuffer(self.max_handshake_message_size)
        self._read: RecordProtection | None = None
        self._write: RecordProtection | None = None
        self._outgoing = bytearray()
        self._pending_handshake = bytearray()  # handshake bytes not yet put into records
        self._plaintext = bytearray()
        self._client_random = b""  # names the connection's secrets in the key log
        self._negotiated: Negotiated | None = None
        self._established = False  # the state is a Traffic (kept as a flag for the hot path)
        self._handshake_started = False  # a handshake message was sent or received
        self._failed: TLSError | None = None
        self._sent_close_notify = False
        self._peer_closed = False
        self._change_cipher_spec_seen = False
        self._protected_record_seen = False
        # Early data we refused is skipped, up to this many bytes (RFC 8446 4.2.10).
        self._early_data_to_skip = 0
        self._skip_unprotected_early_data = False
        # Runs of records that carry no application data (the limits above).
        self._key_updates_without_data = 0
        self._empty_records_in_a_row = 0
        self._warning_alerts_in_a_row = 0

    # ------------------------------------------------------------ the contract

    def feed_wire_data(self, data: bytes) -> None:
        if self._failed is not None:
            raise TLSError(f"the connection already failed: {self._failed.reason}")
        try:
            self._records.feed(data)
            while not self._peer_closed and (record := self._records.next_record()) is not None:
                self._handle_record(*record)
            self._flush_handshake()
        except TLSError as error:
            self._fail(error)
            raise
        except Exception as error:
            failure = TLSError(f"internal error: {error!r}", AlertDescription.internal_error)
            self._fail(failure)
            raise failure from error

    def pop_pending_wire_data(self) -> bytes:
        self._flush_handshake()
        if not self._outgoing:
            return b""
        data = bytes(self._outgoing)
        self._outgoing.clear()
        return data

    def read_plaintext(self) -> bytes:
        if not self._plaintext:
            return b""
        data = bytes(self._plaintext)
        self._plaintext.clear()
        return data

    def protect_application_data(self, data: bytes) -> bytes:
        write = self._write
        if not self._established or write is None or self._failed is not None:
            raise TLSUsageError("application data can only be sent once the handshake is done")
        if self._sent_close_notify:
            raise TLSUsageError("close() was called: no more application data may be sent")
        if write.sequence_number >= KEY_UPDATE_AFTER_RECORDS:
            self._send_key_update(KeyUpdateRequest.update_not_requested)
            write = self._write
            assert write is not None
        if self.observer is None:
            records = write.seal_application_data(data)
        else:
            # Observed: record by record, so the trace can show each one.
            for start in range(0, len(data), MAX_PLAINTEXT_LENGTH):
                self._queue_record(_APPLICATION_DATA, data[start : start + MAX_PLAINTEXT_LENGTH])
            records = b""
        if self._outgoing:
            # Anything queued (a KeyUpdate) must precede these records.
            records = self.pop_pending_wire_data() + records
        return records

    def close(self) -> None:
        """Queue close_notify (RFC 8446 section 6.1); no application data is sent after it."""
        if self._sent_close_notify or self._failed is not None:
            return
        self._sent_close_notify = True
        self._send_alert(AlertDescription.close_notify, AlertLevel.warning)

    @property
    def is_established(self) -> bool:
        return self._established and self._failed is None

    @property
    def peer_closed(self) -> bool:
        return self._peer_closed

    @property
    def negotiated(self) -> Negotiated | None:
        return self._negotiated

    @property
    def state_name(self) -> str:
        """The current state's name (handshake_states.py): Expect..., Traffic or Failed."""
        if self._failed is not None:
            return FAILED
        return self._state.name

    @property
    def parameters(self) -> CipherSuiteParameters | None:
        """The cipher suite's parameters once keys are in use (None before)."""
        protection = self._write or self._read
        return protection.parameters if protection is not None else None

    # ---------------------------------------------------------------- records

    def _handle_record(self, content_type: int, header: bytes, fragment: bytes) -> None:
        if content_type == _CHANGE_CIPHER_SPEC:
            if self._handshake_buffer.has_buffered_data():
                # Section 5.1: handshake messages must not be interleaved with
                # other record types; the dropped ChangeCipherSpec is no exception.
                raise TLSError(
                    "a change_cipher_spec record interrupted a handshake message",
                    AlertDescription.unexpected_message,
                )
            if self.observer is not None:
                self.observe(
                    "record",
                    direction="received",
                    content_type="change_cipher_spec",
                    raw=header + fragment,
                    plaintext=fragment,
                    protected=False,
                )
            self._handle_change_cipher_spec(fragment)
            return
        read = self._read
        if read is None:
            if content_type == _APPLICATION_DATA:
                if self._skip_unprotected_early_data and self._skip_early_data(fragment):
                    return
                raise TLSError(
                    "application data before the handshake protected it",
                    AlertDescription.unexpected_message,
                )
            inner_type, content = content_type, fragment
        elif content_type == _ALERT and not self._protected_record_seen and not self._established:
            # A peer that could not process our ServerHello cannot encrypt its
            # alert; accept a plaintext alert until it sends a protected record.
            inner_type, content = content_type, fragment
        else:
            try:
                inner_type, content = read.open(fragment, header)
            except TLSError as error:
                if error.alert is AlertDescription.bad_record_mac and self._skip_early_data(
                    fragment
                ):
                    return
                raise
            self._protected_record_seen = True
            self._early_data_to_skip = 0  # the first record that opens ends the early data
        if self.observer is not None:
            self.observe(
                "record",
                direction="received",
                content_type=describe(ContentType, inner_type),
                raw=header + fragment,
                plaintext=content,
                protected=read is not None and content_type == _APPLICATION_DATA,
            )

        if inner_type != _HANDSHAKE and self._handshake_buffer.has_buffered_data():
            # RFC 8446 section 5.1: handshake messages must not be interleaved
            # with other record types.
            raise TLSError(
                "a record interrupted a handshake message", AlertDescription.unexpected_message
            )
        if inner_type == _HANDSHAKE:
            self._handshake_buffer.feed(content)
            while (message := self._handshake_buffer.next_message()) is not None:
                self._handle_handshake_message(message)
        elif inner_type == _ALERT:
            self._handle_alert(content)
        elif inner_type == _APPLICATION_DATA:
            if not self._established:
                raise TLSError(
                    "application data before the handshake finished",
                    AlertDescription.unexpected_message,
                )
            if content:
                self._plaintext += content
                self._key_updates_without_data = 0
                self._empty_records_in_a_row = 0
                self._warning_alerts_in_a_row = 0
            else:
                # Zero-length records are allowed (section 5.4), a bounded run of them.
                self._empty_records_in_a_row += 1
                if self._empty_records_in_a_row > MAX_EMPTY_RECORDS:
                    raise TLSError(
                        f"more than {MAX_EMPTY_RECORDS} empty records in a row",
                        AlertDescription.unexpected_message,
                    )
        else:
            raise TLSError(
                f"unexpected record content type {inner_type}", AlertDescription.unexpected_message
            )

    def _skip_early_data(self, fragment: bytes) -> bool:
        """Drop one record of refused 0-RTT data if the budget allows (RFC 8446 section 4.2.10)."""
        # No budget, nothing skipped: not even an empty record, which no key opens.
        if not self._early_data_to_skip or len(fragment) > self._early_data_to_skip:
            return False
        self._early_data_to_skip -= len(fragment)
        return True

    def _handle_change_cipher_spec(self, fragment: bytes) -> None:
        # RFC 8446 section 5: during the handshake a single change_cipher_spec
        # record holding 0x01 is dropped (middlebox compatibility, appendix
        # D.4); any other value, a second one, or one after the handshake is
        # an unexpected_message.
        if fragment != b"\x01":
            raise TLSError(
                "a change_cipher_spec record that is not the single byte 1",
                AlertDescription.unexpected_message,
            )
        if self._established:
            raise TLSError(
                "change_cipher_spec after the handshake", AlertDescription.unexpected_message
            )
        if self._change_cipher_spec_seen:
            raise TLSError("a second change_cipher_spec", AlertDescription.unexpected_message)
        if not self._handshake_started:
            raise TLSError(
                "change_cipher_spec before any handshake message",
                AlertDescription.unexpected_message,
            )
        self._change_cipher_spec_seen = True

    def _handle_handshake_message(self, message: HandshakeInput) -> None:
        state = self._state
        if self._established:
            if message[0] == HandshakeType.key_update:
                self._handle_key_update(message)
            elif message[0] in state.expects:
                state.handle(self, message)  # stays in Traffic: no state event
            else:
                raise unexpected(state.name, message[0])
            return
        if message[0] not in state.expects:
            raise unexpected(state.name, message[0])
        self._handshake_started = True
        next_state = state.handle(self, message)
        self._state = next_state
        if isinstance(next_state, Traffic):
            # Only a verified Finished builds a Traffic (handshake_context.py).
            self._negotiated = next_state.negotiated
            self._established = True
        if self.observer is not None:
            self.observe("state", previous=state.name, next=next_state.name)

    def _handle_key_update(self, message: HandshakeInput) -> None:
        key_update = KeyUpdate.decode(message[1])
        if self.observer is not None:
            self.observe(
                "message",
                direction="received",
                name="KeyUpdate",
                fields={"request_update": key_update.request_update.name},
                raw=message[2],
            )
        self._receive_key_update(key_update)

    # ----------------------------------------------------------------- alerts

    def _handle_alert(self, content: bytes) -> None:
        if len(content) != 2:
            # Section 5.1: alerts are never fragmented nor coalesced.
            raise TLSError(
                "an alert record that is not exactly one alert", AlertDescription.decode_error
            )
        description = content[1]
        if self.observer is not None:
            self.observe("alert", direction="received", level=content[0], description=description)
        if description == AlertDescription.close_notify:
            # Section 6.1: the peer will send nothing more; whatever follows is ignored.
            self._peer_closed = True
            return
        if description == AlertDescription.user_canceled:
            # A warning; close_notify follows.  A bounded run of them.
            self._warning_alerts_in_a_row += 1
            if self._warning_alerts_in_a_row > MAX_WARNING_ALERTS:
                raise TLSError(
                    f"more than {MAX_WARNING_ALERTS} warning alerts in a row",
                    AlertDescription.unexpected_message,
                )
            return
        # Section 6: every other alert is fatal, whatever level it claims.
        self._failed = TLSError("the peer sent a fatal alert", received_alert=description)
        raise self._failed

    def _send_alert(self, description: AlertDescription, level: AlertLevel = AlertLevel.fatal):
        self._flush_handshake()
        self._queue_record(_ALERT, bytes((level, description)))
        if self.observer is not None:
            self.observe("alert", direction="sent", level=int(level), description=int(description))

    def _fail(self, error: TLSError) -> None:
        """The one place a failure becomes an alert on the wire."""
        if self._failed is not None and self._failed is not error:
            return
        already_failed = self._failed is error
        self._failed = error
        if error.alert is not None and not already_failed:
            try:
                self._send_alert(error.alert)
            except TLSError:
                pass  # the keys are exhausted; the TCP close must do

    # ------------------------------------------------ what the states call

    def send_handshake(
        self, message: Any, raw: bytes | None = None, *, log_name: str | None = None
    ) -> bytes:
        """Queue a handshake message under the current write keys; return its bytes.

        `raw` is the message's encoding when the caller keeps it encoded
        already (prepared.py: the Certificate and EncryptedExtensions of a
        server, made once); otherwise the message encodes itself.  The
        transcript is the state's: it adds the bytes returned here.
        """
        if raw is None:
            raw = message.encode()
        self._handshake_started = True
        return self._queue_handshake(raw, log_name or type(message).__name__, message)

    def send_packed(self, message_class: type[HandshakeMessageBase], raw: bytes) -> bytes:
        """Queue a message packed from its fields (`Message.pack`: no message object on the
        server's hot path); an observer sees it decoded from the bytes sent.  Returns `raw`."""
        self._handshake_started = True
        if self.observer is None:
            self._pending_handshake += raw
            return raw
        message = message_class.decode(raw[HANDSHAKE_HEADER_LENGTH:])
        return self._queue_handshake(raw, message_class.__name__, message)

    def send_unrecorded_handshake(self, message: Any) -> bytes:
        """Queue a post-handshake message (NewSessionTicket, KeyUpdate): not in any transcript."""
        return self._queue_handshake(message.encode(), type(message).__name__, message)

    def _queue_handshake(self, raw: bytes, name: str, message: Any) -> bytes:
        self._pending_handshake += raw
        if self.observer is not None:
            self.observe("message", direction="sent", name=name, fields=message, raw=raw)
        return raw

    def send_change_cipher_spec(self) -> None:
        """Appendix D.4: the dummy ChangeCipherSpec middleboxes expect after the hellos."""
        self._flush_handshake()
        self._queue_record(_CHANGE_CIPHER_SPEC, b"\x01")

    def install_write_keys(
        self, parameters: CipherSuiteParameters, name: str, secret: bytes
    ) -> None:
        """From now on, records we send are protected with keys from `secret`."""
        self._flush_handshake()
        self._write = RecordProtection(parameters, secret)
        self.log_secret(name, secret)

    def install_read_keys(
        self, parameters: CipherSuiteParameters, name: str, secret: bytes
    ) -> None:
        """From now on, records we receive must be protected with keys from `secret`."""
        if self._handshake_buffer.has_buffered_data():
            # Section 5.1: a message before a key change must end its record.
            raise TLSError("handshake data spans a key change", AlertDescription.unexpected_message)
        self._read = RecordProtection(parameters, secret)
        self.log_secret(name, secret)

    def skip_refused_early_data(self, budget: int, *, in_the_clear: bool) -> None:
        """Drop refused 0-RTT records, up to `budget` bytes (RFC 8446 section 4.2.10).

        in_the_clear: after a HelloRetryRequest they arrive as plaintext application_data.
        """
        self._early_data_to_skip = budget
        self._skip_unprotected_early_data = in_the_clear

    @property
    def logs_secrets(self) -> bool:
        """True if someone receives secrets (a key log or an observer)."""
        return self.keylog is not None or self.observer is not None

    def name_secrets_after(self, client_random: bytes) -> None:
        """The key log names this connection's secrets after the ClientHello.random."""
        self._client_random = client_random

    def log_secret(self, name: str, secret: bytes) -> None:
        if self.keylog is not None:
            line = keylog_line(name, self._client_random, secret)
            if line is not None:
                self.keylog(line)
        if self.observer is not None:
            self.observe("secret", name=name, value=secret)

    def agree(self, negotiated: Negotiated) -> None:
        """Record what was agreed before the handshake is over (for logs and traces)."""
        self._negotiated = negotiated

    def observe(self, kind: str, **fields: Any) -> None:
        """Report one event to the observer (callers check `observer is not None` first)."""
        assert self.observer is not None
        self.observer({"kind": kind, "protocol": "TLSv1.3", **fields})

    @property
    def is_observed(self) -> bool:
        return self.observer is not None

    def observe_received(self, name: str, message: object, raw: bytes) -> None:
        """Report a handshake message that arrived (nothing without an observer)."""
        if self.observer is not None:
            self.observe("message", direction="received", name=name, fields=message, raw=raw)

    def observe_key_exchange(self, group: str, private_key: bytes, peer_share: bytes) -> None:
        """Report our ephemeral private key: only an observer (a trace page) ever sees it."""
        if self.observer is not None:
            self.observe(
                "key_exchange", group=group, private_key=private_key, peer_share=peer_share
            )

    def observe_verified(self, name: str, detail: str) -> None:
        """Report a verification that passed (nothing without an observer)."""
        if self.observer is not None:
            self.observe("verified", name=name, detail=detail)

    # ------------------------------------------------------------- KeyUpdate

    def _receive_key_update(self, key_update: KeyUpdate) -> None:
        self._key_updates_without_data += 1
        if self._key_updates_without_data > MAX_KEY_UPDATES_WITHOUT_DATA:
            raise TLSError(
                f"more than {MAX_KEY_UPDATES_WITHOUT_DATA} KeyUpdates without application data",
                AlertDescription.unexpected_message,
            )
        read = self._read
        assert read is not None
        next_secret = key_schedule.next_application_traffic_secret(
            read.parameters.hash_name, read.traffic_secret
        )
        self.install_read_keys(read.parameters, "next_read_application_traffic_secret", next_secret)
        if (
            key_update.request_update == KeyUpdateRequest.update_requested
            and not self._sent_close_notify
        ):
            # Section 4.6.3: answer with our own update, not requesting another;
            # but after our close_notify we send nothing more (section 6.1).
            self._send_key_update(KeyUpdateRequest.update_not_requested)

    def _send_key_update(self, request: KeyUpdateRequest) -> None:
        write = self._write
        assert write is not None
        self.send_unrecorded_handshake(KeyUpdate(request))
        self._flush_handshake()
        next_secret = key_schedule.next_application_traffic_secret(
            write.parameters.hash_name, write.traffic_secret
        )
        self.install_write_keys(
            write.parameters, "next_write_application_traffic_secret", next_secret
        )

    def request_key_update(self) -> None:
        """Send a KeyUpdate asking the peer to update its keys too."""
        if not self.is_established:
            raise TLSUsageError("KeyUpdate is only possible after the handshake")
        self._send_key_update(KeyUpdateRequest.update_requested)

    # ------------------------------------------------------------- internals

    def _flush_handshake(self) -> None:
        """Put queued handshake bytes into records under the current write keys."""
        pending = self._pending_handshake
        if not pending:
            return
        data = bytes(pending)
        pending.clear()
        if len(data) <= MAX_PLAINTEXT_LENGTH:
            self._queue_record(_HANDSHAKE, data)  # a whole flight usually fits one record
            return
        for start in range(0, len(data), MAX_PLAINTEXT_LENGTH):
            self._queue_record(_HANDSHAKE, data[start : start + MAX_PLAINTEXT_LENGTH])

    def _queue_record(self, content_type: int, content: bytes) -> None:
        """One record to send: protected once we have write keys (ChangeCipherSpec never is)."""
        write = self._write
        protected = write is not None and content_type != _CHANGE_CIPHER_SPEC
        if protected:
            record = write.seal(content_type, content)
        else:
            record = encode_plaintext_record(content_type, content)
        self._outgoing += record
        if self.observer is not None:
            self.observe(
                "record",
                direction="sent",
                content_type=describe(ContentType, content_type),
                raw=record,
                plaintext=content,
                protected=protected,
            )
