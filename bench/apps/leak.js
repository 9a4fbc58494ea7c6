// bench/apps/leak.js: an ordinary HTTP service that leaks memory, for
// bench/downtime.sh. It knows nothing of its supervisor: no signal handler,
// no readiness protocol, just http.createServer(handler).listen(PORT).
//
// Every answer is {"pid":N}, so that a client can tell the processes apart
// and count restarts whatever the supervisor. Every 50 ms it keeps one more
// 1 MiB Buffer, filled so that its pages are really touched: RSS grows about
// 20 MiB/s until the supervisor restarts it.
//
//   PORT=4540 node bench/apps/leak.js
'use strict';

const http = require('node:http');

const body = JSON.stringify({ pid: process.pid }) + '\n';
http.createServer((req, res) => {
	res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
	res.end(body);
}).listen(Number(process.env.PORT || 8080));

const kept = [];
setInterval(() => kept.push(Buffer.alloc(1 << 20, 0x5a)), 50);
