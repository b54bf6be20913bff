'use strict';
// Node.js as a TLS 1.3 client (bench/node.py runs it): one GET, then
// one JSON line saying what was negotiated, as Node itself reports it.
//
// argv[2] is a JSON object: host, port, servername, ca (a PEM file), path, and
// groups (OpenSSL's colon-separated names, e.g. "X25519MLKEM768"; null: Node's
// defaults, which in Node 24 offer X25519MLKEM768 and x25519 key shares).
const tls = require('node:tls');
const fs = require('node:fs');

const options = JSON.parse(process.argv[2]);
const connectOptions = {
  host: options.host,
  port: options.port,
  servername: options.servername,
  ca: fs.readFileSync(options.ca),
  minVersion: 'TLSv1.3',
  maxVersion: 'TLSv1.3',
  ALPNProtocols: ['http/1.1'],
};
if (options.groups) {
  connectOptions.ecdhCurve = options.groups;
}

let connection = null;
const chunks = [];
const socket = tls.connect(connectOptions, () => {
  // getEphemeralKeyInfo() names the key exchange group (client side only).
  connection = {
    protocol: socket.getProtocol(),
    cipher: socket.getCipher().standardName,
    group: socket.getEphemeralKeyInfo().name ?? null,
  };
  socket.write(
    `GET ${options.path} HTTP/1.1\r\nHost: ${options.servername}\r\n` +
      'User-Agent: node-interop\r\nConnection: close\r\n\r\n',
  );
});
socket.on('data', (chunk) => chunks.push(chunk));
socket.on('end', () => {
  const text = Buffer.concat(chunks).toString('latin1');
  const status = /^HTTP\/1\.1 (\d{3}) /.exec(text);
  const bodyStart = text.indexOf('\r\n\r\n');
  console.log(
    JSON.stringify({
      ...connection,
      status: status ? Number(status[1]) : null,
      body: bodyStart >= 0 ? text.slice(bodyStart + 4) : '',
    }),
  );
});
socket.on('error', (error) => {
  console.log(JSON.stringify({ error: error.code || error.message }));
  process.exitCode = 1;
});
