// bench/apps/crash.js: an ordinary HTTP service that crashes, for
// bench/downtime.sh. It knows nothing of its supervisor: no signal handler,
// no readiness protocol, just http.createServer(handler).listen(PORT).
//
// Every answer is {"pid":N}, so that a client can tell the processes apart
// and count restarts whatever the supervisor. 7 to 9 s after it starts
// (uniformly drawn, so that several instances drift apart) it calls
// process.exit(1), whatever requests are in flight.
//
//   PORT=4540 node bench/apps/crash.js
'use strict';

const http = require('node:http');

const body = JSON.stringify({ pid: process.pid }) + '\n';
http.createServer((req, res) => {
	res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
	res.end(body);
}).listen(Number(process.env.PORT || 8080));

setTimeout(() => process.exit(1), 7000 + Math.random() * 2000);
