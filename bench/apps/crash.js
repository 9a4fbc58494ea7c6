// bench/apps/crash.js: serve.js's service, crashing, for bench/downtime.sh.
// 7 to 9 s after it starts (uniformly drawn, so that several instances
// drift apart) it calls process.exit(1), whatever requests are in flight.
//
//   PORT=4540 node bench/apps/crash.js
'use strict';

require('./serve.js');

setTimeout(() => process.exit(1), 7000 + Math.random() * 2000);
