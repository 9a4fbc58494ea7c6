'use strict';
// V7's driver in the cgroup v2 VM: the soak's faults in turn against the
// example app under crinit (PID argv[2]), each followed through crinit's
// /status until a new child is up and its probe passes. Prints one JSON
// line per fault and a last one with the endpoint's failures.
const http = require('node:http');

const crinit = Number(process.argv[2]);
const FAULTS = [
  ['gradual leak', '/leak?mb_per_s=40', 'rss_limit'],
  ['allocation past the cgroup limit', '/alloc?mb=400', 'oom_kill'],
  ['fd leak', '/leak-fds?per_s=1000', 'fd_limit'],
  ['event-loop hang', '/block?ms=60000', 'probe'],
  ['crash', '/crash?code=3', 'exit'],
  ['SIGTERM-ignoring child', '/ignore-term', 'reload'],
  ['orphan storm', '/orphans?n=50', ''],
];

function request(method, port, path) {
  return new Promise((resolve) => {
    const r = http.request({ host: '127.0.0.1', port, path, method, agent: false, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', (err) => resolve({ status: 0, body: String(err) }));
    r.end();
  });
}

let endpointUp = false, endpointFailures = 0;
async function status() {
  const r = await request('GET', 9090, '/status');
  if (r.status === 200) { endpointUp = true; return JSON.parse(r.body); }
  if (endpointUp) endpointFailures++; // crinit's endpoint must answer once it has
  return null;
}

// until polls /status (it can only be polled) until ok(status) holds.
async function until(what, ok) {
  const end = Date.now() + 180000;
  for (;;) {
    const s = await status();
    if (s && ok(s)) return s;
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const serving = (s) => s.state === 'running' && s.probe && s.probe.state === 'healthy';

async function main() {
  for (const [name, path, reason] of FAULTS) {
    const before = await until('the app serving', serving);
    const t0 = Date.now();
    const r = await request('POST', 4001, path);
    if (r.status !== 202) throw new Error(`POST ${path}: ${r.status} ${r.body}`);
    if (path === '/ignore-term') {
      await request('GET', 4000, '/'); // answered after the switch has acted
      process.kill(crinit, 'SIGHUP');
    }
    if (reason) await until('a new child serving', (s) => s.starts > before.starts && serving(s));
    else await until('the orphans reaped', (s) => s.orphans_reaped >= before.orphans_reaped + 50);
    console.log(JSON.stringify({ v7: 'fault', name, reason, ms: Date.now() - t0 }));
  }
  console.log(JSON.stringify({ v7: 'done', endpoint_failures: endpointFailures }));
}

main().catch((err) => {
  console.log(JSON.stringify({ v7: 'error', message: err.message }));
  process.exitCode = 1;
});
