"""The wiring: the one package where the config, sockets, TLS and HTTP meet.

    listeners.py   config -> ListenerSpecs (sites, limits, logs, TLS factories)
    settings.py    ListenerSpec, ConnectionSettings, the Timeout reasons
    server.py      bind the listeners and run one event loop
    processes.py   a master and worker processes (nginx's model)
    accept.py      one accepted socket -> a transport and the session of its ALPN protocol
    transport.py   PlainTransport and TlsTransport: plaintext below a session
    http1.py       Http1Session: HTTP/1.1 over a transport's plaintext
    logs.py        the access and error logs

Below this package nothing imports it: tcp/ moves bytes, tls/ and http/ are
sans-IO, config/ reads the file.
"""
