// Serves on the held PORT and on UNHELD_PORT, which crinit does not hold;
// the second server listens there twice (closing in between).
'use strict';
const http = require('node:http');

const handler = (req, res) => res.end('unheld ' + req.url);
const held = http.createServer(handler);
held.listen(Number(process.env.PORT), () => {
  const other = http.createServer(handler);
  other.listen(process.env.UNHELD_PORT, '127.0.0.1', () => {
    other.close(() => {
      other.listen(process.env.UNHELD_PORT, '127.0.0.1', () => {
        console.log('LISTENING ' + JSON.stringify(other.address()));
      });
    });
  });
});
