// A SIGTERM listener in the way of signal-exit (used by execa,
// write-file-atomic and many others): it only acts, by raising SIGTERM
// again, when it is the last listener; the app dies of SIGTERM.
'use strict';
const http = require('node:http');

process.on('SIGTERM', function listener() {
  if (process.listeners('SIGTERM').length === 1) {
    process.removeListener('SIGTERM', listener);
    process.kill(process.pid, 'SIGTERM');
  }
});
const server = http.createServer((req, res) => res.end('signalexit'));
server.listen(process.env.PORT, () => console.log('LISTENING'));
