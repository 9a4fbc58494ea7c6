// bench/apps/leak.js: serve.js's service, leaking, for bench/downtime.sh.
// Every 50 ms it keeps one more 1 MiB Buffer, filled so that its pages are
// really touched: RSS grows about 20 MiB/s until the supervisor restarts it.
//
//   PORT=4540 node bench/apps/leak.js
'use strict';

require('./serve.js');

const kept = [];
setInterval(() => kept.push(Buffer.alloc(1 << 20, 0x5a)), 50);
