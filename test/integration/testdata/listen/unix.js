// A service on the unix socket SOCK names.
const http = require('node:http');

http.createServer((req, res) => res.end(String(process.pid))).listen(process.env.SOCK);
