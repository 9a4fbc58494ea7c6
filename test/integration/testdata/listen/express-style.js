// A service written as an Express app is: app is the request handler, and
// app.listen creates the http server and listens with the same arguments.
const http = require('node:http');

const app = (req, res) => res.end(String(process.pid));
app.listen = (...args) => http.createServer(app).listen(...args);

app.listen(Number(process.env.PORT), '127.0.0.1');
