'use strict';
// Node.js 24's own HTTPS server (bench/node.py starts it, for tests/interop and
// bench/pq.py): TLS 1.3 only, limited to the groups it is given, answering every
// request with a fixed page.  Once it listens it prints the line our own server
// prints, "listening on https://127.0.0.1:PORT (TLSv1.3)", which both read.
//
// argv[2] is a JSON object: key, cert, chain (PEM files), groups (OpenSSL's
// colon-separated names, or null for Node's defaults) and body (the page).
const https = require('node:https');
const fs = require('node:fs');

const options = JSON.parse(process.argv[2]);
const serverOptions = {
  key: fs.readFileSync(options.key),
  cert: fs.readFileSync(options.cert, 'latin1') + fs.readFileSync(options.chain, 'latin1'),
  minVersion: 'TLSv1.3',
  maxVersion: 'TLSv1.3',
};
if (options.groups) {
  serverOptions.ecdhCurve = options.groups;
}
const body = Buffer.from(options.body, 'utf8');
const server = https.createServer(serverOptions, (request, response) => {
  response.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  response.end(body);
});
server.keepAliveTimeout = 1000;
server.listen(0, '127.0.0.1', () => {
  console.log(`listening on https://127.0.0.1:${server.address().port} (TLSv1.3)`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
