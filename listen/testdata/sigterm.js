// An app with its own SIGTERM handler, which exits 7.
'use strict';
const http = require('node:http');

process.on('SIGTERM', () => process.exit(7));
const server = http.createServer((req, res) => res.end('sigterm'));
server.listen(process.env.PORT, () => console.log('LISTENING'));
