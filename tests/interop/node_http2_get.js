'use strict';
// Node.js 24's own HTTP/2 client (node:http2) against our server: GET each
// path as a stream of one session, then one JSON line per path with what Node
// saw: the ALPN protocol, the status, the body's length and SHA-256.
//
// argv[2] is a JSON object: port, ca (a PEM file), paths.
const http2 = require('node:http2');
const fs = require('node:fs');
const crypto = require('node:crypto');

const options = JSON.parse(process.argv[2]);
const session = http2.connect(`https://localhost:${options.port}`, {
  ca: fs.readFileSync(options.ca),
  minVersion: 'TLSv1.3',
});
session.on('error', (error) => {
  console.log(JSON.stringify({ error: String(error) }));
  process.exitCode = 1;
});

let pending = options.paths.length;
for (const path of options.paths) {
  const request = session.request({ ':path': path });
  const hash = crypto.createHash('sha256');
  let length = 0;
  let status = null;
  request.on('response', (headers) => {
    status = headers[':status'];
  });
  request.on('data', (chunk) => {
    hash.update(chunk);
    length += chunk.length;
  });
  request.on('end', () => {
    console.log(
      JSON.stringify({
        path,
        alpn: session.alpnProtocol,
        status,
        length,
        sha256: hash.digest('hex'),
      }),
    );
    pending -= 1;
    if (pending === 0) {
      session.close();
    }
  });
  request.end();
}
