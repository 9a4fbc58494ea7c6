// The shape of an Express app: a handler function whose listen creates the
// http server.
'use strict';
const http = require('node:http');

const app = (req, res) => res.end('express ' + req.url);
app.listen = (...args) => http.createServer(app).listen(...args);

const server = app.listen(process.env.PORT, '0.0.0.0', () => {
  console.log('LISTENING ' + JSON.stringify(server.address()));
});
