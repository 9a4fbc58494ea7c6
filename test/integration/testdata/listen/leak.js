// An unmodified service that leaks about 20 MiB/s: it listens on PORT as
// any app does and knows nothing of crinit. Each response is its pid.
const http = require('node:http');

http.createServer((req, res) => res.end(String(process.pid))).listen(process.env.PORT);

const leaked = [];
setInterval(() => leaked.push(Buffer.alloc(1 << 20, 1)), 50);
