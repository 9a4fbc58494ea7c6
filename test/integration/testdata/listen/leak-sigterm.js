// leak.js with a graceful SIGTERM handler of its own: it stops accepting,
// lets the connections it has finish and exits 0.
const http = require('node:http');

const server = http.createServer((req, res) => res.end(String(process.pid)));
server.listen(process.env.PORT);
process.on('SIGTERM', () => server.close(() => process.exit(0)));

const leaked = [];
setInterval(() => leaked.push(Buffer.alloc(1 << 20, 1)), 50);
