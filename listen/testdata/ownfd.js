// An app that does socket activation itself: it reads LISTEN_FDS and
// listens on fd 3.
'use strict';
const http = require('node:http');

const { LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES } = process.env;
console.log(`ENV ${LISTEN_FDS} ${LISTEN_PID === String(process.pid)} ${LISTEN_FDNAMES}`);
if (LISTEN_FDS !== '1') process.exit(4);
const server = http.createServer((req, res) => res.end('ownfd ' + req.url));
server.listen({ fd: 3 }, () => console.log('LISTENING ' + JSON.stringify(server.address())));
