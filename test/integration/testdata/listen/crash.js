// A service that crashes (exit status 1) 2 s after it starts listening.
const http = require('node:http');

http
  .createServer((req, res) => res.end(String(process.pid)))
  .listen(process.env.PORT, () => setTimeout(() => process.exit(1), 2000));
