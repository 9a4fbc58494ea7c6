// bench/apps/serve.js: the ordinary HTTP service leak.js and crash.js
// start. It knows nothing of its supervisor: no signal handler, no
// readiness protocol, just http.createServer(handler).listen(PORT).
//
// Every answer is {"pid":N}, so that a client can tell the processes apart
// and count restarts whatever the supervisor.
'use strict';

const http = require('node:http');

const body = JSON.stringify({ pid: process.pid }) + '\n';
http.createServer((req, res) => {
	res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
	res.end(body);
}).listen(Number(process.env.PORT || 8080));
