// An app that listens only on a port of the kernel's choice (port 0),
// never on a held socket.
'use strict';
const http = require('node:http');

const server = http.createServer((req, res) => res.end('noheld'));
server.listen(0, '127.0.0.1', () => console.log('LISTENING ' + JSON.stringify(server.address())));
