// A plain http server on process.env.PORT (a port or a unix socket path),
// on process.env.HOST when set. /slow answers after 300 ms.
'use strict';
const http = require('node:http');

const server = http.createServer((req, res) => {
  console.log('REQ ' + req.url);
  const delay = req.url === '/slow' ? 300 : 0;
  setTimeout(() => res.end('plain ' + req.url), delay);
});
server.on('error', (err) => {
  console.log('ERROR ' + err.code);
  process.exit(3);
});
console.log('SIGTERM_LISTENERS ' + process.listenerCount('SIGTERM'));
server.listen(process.env.PORT, process.env.HOST, () => {
  console.log('LISTENING ' + JSON.stringify(server.address()));
});
