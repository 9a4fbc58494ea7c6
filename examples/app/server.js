'use strict';
// Example service supervised by crinit. Besides a tiny JSON API it has fault
// switches (memory/FD leaks, event-loop blocking, crashes) driven by env vars
// at start or by POSTs to an admin server on 127.0.0.1. Every log line on
// stdout is one JSON object with "app":"example", "event", "pid" and "ts".
const http = require('node:http');
const fs = require('node:fs');
const { spawn } = require('node:child_process');

const MiB = 1024 * 1024;
const env = process.env;

function log(event, fields = {}) {
  process.stdout.write(JSON.stringify({ app: 'example', event, ...fields, pid: process.pid, ts: Date.now() }) + '\n');
}

// Non-negative number from a query/env string: missing or '' -> def, garbage -> NaN.
function num(v, def) {
  if (v === undefined || v === null || v === '') return def;
  return /^\d+(\.\d+)?$/.test(v) ? Number(v) : NaN;
}

function send(res, status, body, headers = {}) {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data), ...headers });
  res.end(data);
}

// ---- fault state: retained memory is never freed, /stop only halts growth ----
const retained = [];
let retainedBytes = 0;
const leakedFds = [];
const timers = {};
const HEAP_FILL = Buffer.alloc(16 * 1024, 'x'); // source for distinct 16 KiB heap strings

function stopTimer(name) { clearInterval(timers[name]); timers[name] = null; }
function stopAll() { for (const name of Object.keys(timers)) stopTimer(name); }

function logRss() {
  const m = process.memoryUsage();
  log('rss', { rss_bytes: m.rss, heap_used_bytes: m.heapUsed, external_bytes: m.external, retained_bytes: retainedBytes });
}

function openFds() {
  try { return fs.readdirSync('/proc/self/fd').length - 1; } catch { return null; } // -1: readdir's own fd
}

// leak: every 100 ms retain mbPerS/10 MiB, until /stop.
//   buffer: Buffer.alloc filled with 1s -> every page is touched, counts in RSS (external memory, not V8 heap).
//   heap:   JS objects holding distinct flat strings -> V8 old space grows until --max-old-space-size kills node.
function startLeak(mbPerS, kind) {
  stopTimer('leak');
  const chunk = Math.max(1, Math.round((mbPerS * MiB) / 10));
  timers.leak = setInterval(() => {
    if (kind === 'heap') {
      const items = [];
      for (let n = 0; n < chunk; n += HEAP_FILL.length) items.push({ n, s: HEAP_FILL.toString('latin1') });
      retained.push(items);
    } else {
      retained.push(Buffer.alloc(chunk, 1));
    }
    retainedBytes += chunk;
  }, 100);
  if (!timers.rss) timers.rss = setInterval(logRss, 500);
}

// alloc: one sudden, fully touched allocation (e.g. to jump past a cgroup memory limit).
function alloc(mb) {
  retained.push(Buffer.alloc(Math.round(mb * MiB), 1));
  retainedBytes += Math.round(mb * MiB);
  logRss();
}

// leak-fds: open /dev/null perS times a second and never close; stop growing on EMFILE/ENFILE.
function startFdLeak(perS) {
  stopTimer('fds');
  let owed = 0; // fractional opens carried between ticks, so low rates work too
  timers.fds = setInterval(() => {
    for (owed += perS / 10; owed >= 1; owed--) {
      try {
        leakedFds.push(fs.openSync('/dev/null', 'r'));
      } catch (err) {
        log('error', { code: err.code, message: err.message, leaked_fds: leakedFds.length });
        stopTimer('fds');
        stopTimer('fdsReport');
        return;
      }
    }
  }, 100);
  if (!timers.fdsReport) timers.fdsReport = setInterval(() => log('fds', { open_fds: openFds(), leaked_fds: leakedFds.length }), 1000);
}

// block: busy-loop the event loop (hung app: no HTTP, no timers, signals handled only afterwards).
function block(ms) {
  const start = Date.now();
  while (Date.now() - start < ms) { /* spin */ }
  log('unblocked', { blocked_ms: Date.now() - start });
}

// orphans: spawn in batches of 20, one batch per event-loop turn, so the app keeps answering.
function spawnOrphans(n) {
  const batch = Math.min(n, 20);
  for (let i = 0; i < batch; i++) spawn('sh', ['-c', 'sleep 1 & exit 0'], { stdio: 'ignore' });
  if (n > batch) setImmediate(spawnOrphans, n - batch);
}

function crash(code) {
  log('exit', { code });
  process.exit(code);
}

// Switches: validate params (get(name) -> string|undefined), return {params, act} or {error}.
const SWITCHES = {
  leak(get) {
    const mb = num(get('mb_per_s'), 20), kind = get('kind') || 'buffer';
    if (!(mb > 0)) return { error: 'mb_per_s must be a number > 0' };
    if (kind !== 'buffer' && kind !== 'heap') return { error: 'kind must be buffer or heap' };
    return { params: { mb_per_s: mb, kind }, act: () => startLeak(mb, kind) };
  },
  alloc(get) {
    const mb = num(get('mb'), 600);
    return mb > 0 ? { params: { mb }, act: () => alloc(mb) } : { error: 'mb must be a number > 0' };
  },
  'leak-fds'(get) {
    const perS = num(get('per_s'), 200);
    return perS > 0 ? { params: { per_s: perS }, act: () => startFdLeak(perS) } : { error: 'per_s must be a number > 0' };
  },
  block(get) {
    const ms = num(get('ms'), 60000);
    return ms >= 0 ? { params: { ms }, act: () => block(ms) } : { error: 'ms must be a number >= 0' };
  },
  crash(get) {
    const code = num(get('code'), 1);
    return Number.isInteger(code) && code <= 255 ? { params: { code }, act: () => crash(code) } : { error: 'code must be an integer 0..255' };
  },
  stop() { return { params: {}, act: stopAll }; },
  // ignore-term: SIGTERM is ignored from now on (a child that will not stop; only SIGKILL ends it).
  'ignore-term'() { return { params: {}, act: () => { process.removeAllListeners('SIGTERM'); process.on('SIGTERM', () => log('signal', { signal: 'SIGTERM', ignored: true })); } }; },
  // orphans: start n shells that each leave a short sleep behind and exit at once: n orphans for PID 1 to reap.
  orphans(get) {
    const n = num(get('n'), 100);
    return Number.isInteger(n) && n > 0 && n <= 10000
      ? { params: { n }, act: () => spawnOrphans(n) }
      : { error: 'n must be an integer 1..10000' };
  },
};

// ---- HTTP handlers ----
function app(req, res) {
  let url;
  try { url = new URL('http://localhost' + req.url); } catch { return send(res, 400, { error: 'bad url' }); }
  if (req.method === 'GET' && url.pathname === '/') return send(res, 200, { service: 'crinit-example-app', pid: process.pid });
  if (req.method === 'GET' && url.pathname === '/api/reportes') {
    const raw = url.searchParams.get('limit');
    if (raw !== null && !/^-?\d+$/.test(raw)) return send(res, 400, { error: 'limit must be an integer' });
    const n = raw === null ? 10 : Math.min(100, Math.max(1, Number(raw))); // clamp to 1..100
    const now = Date.now();
    const reportes = Array.from({ length: n }, (_, i) => ({ id: i + 1, title: `Reporte #${i + 1}`, createdAt: new Date(now - i * 60000).toISOString() }));
    return send(res, 200, { reportes, pid: process.pid });
  }
  send(res, 404, { error: 'not found' });
}

function admin(req, res) {
  let url;
  try { url = new URL('http://localhost' + req.url); } catch { return send(res, 400, { error: 'bad url' }); }
  const action = url.pathname.slice(1);
  if (!Object.hasOwn(SWITCHES, action)) return send(res, 404, { error: 'not found' });
  if (req.method !== 'POST') return send(res, 405, { error: 'use POST' }, { Allow: 'POST' });
  const r = SWITCHES[action]((k) => url.searchParams.get(k) ?? undefined);
  if (r.error) return send(res, 400, { error: r.error });
  log('admin', { action, source: 'http', ...r.params });
  res.once('close', () => setImmediate(r.act)); // act only after the 202 has been sent
  send(res, 202, { ok: true, action, ...r.params });
}

// ---- env switches: validated before listening, applied right after (BLOCK_MS last: it blocks) ----
const ENV_SWITCHES = [
  ['LEAK_MB_PER_S', 'leak', { mb_per_s: 'LEAK_MB_PER_S', kind: 'LEAK_KIND' }],
  ['LEAK_FDS_PER_S', 'leak-fds', { per_s: 'LEAK_FDS_PER_S' }],
  ['CRASH_AFTER_MS', 'crash', { code: 'CRASH_CODE' }], // delayed by CRASH_AFTER_MS (counted from listening)
  ['ALLOC_MB', 'alloc', { mb: 'ALLOC_MB' }],
  ['BLOCK_MS', 'block', { ms: 'BLOCK_MS' }],
];
const startup = [];
for (const [trigger, action, names] of ENV_SWITCHES) {
  if (!env[trigger]) continue;
  const r = SWITCHES[action]((k) => env[names[k]]);
  const delay = action === 'crash' ? num(env.CRASH_AFTER_MS, 0) : 0;
  if (r.error || Number.isNaN(delay)) { log('error', { code: 'BAD_ENV', var: trigger, message: r.error || 'CRASH_AFTER_MS must be a number' }); process.exit(2); }
  startup.push(() => {
    log('admin', { action, source: 'env', ...r.params, ...(action === 'crash' ? { after_ms: delay } : {}) });
    if (action === 'crash') setTimeout(r.act, delay); else r.act();
  });
}

const PORT = num(env.PORT, 4000), ADMIN_PORT = num(env.ADMIN_PORT, 4001), HOST = env.HOST || '0.0.0.0';
if (!Number.isInteger(PORT) || !Number.isInteger(ADMIN_PORT)) { log('error', { code: 'BAD_ENV', var: 'PORT/ADMIN_PORT' }); process.exit(2); }

const server = http.createServer(app);
const adminServer = http.createServer(admin);
let listening = 0;
for (const [srv, port, host] of [[server, PORT, HOST], [adminServer, ADMIN_PORT, '127.0.0.1']]) {
  srv.on('error', (err) => { log('error', { code: err.code, message: err.message, port }); process.exit(1); }); // e.g. EADDRINUSE
  srv.listen(port, host, () => {
    if (++listening < 2) return;
    log('listening', { port: server.address().port, admin_port: adminServer.address().port });
    for (const act of startup) act();
  });
}

// ---- signals: SIGTERM/SIGINT -> graceful close, exit 0 (forced after 2 s); SIGHUP -> log only.
// No SIGUSR1 handler on purpose: node reserves it for the inspector.
let shuttingDown = false;
function shutdown(signal) {
  log('signal', { signal });
  if (shuttingDown) return;
  shuttingDown = true;
  stopAll();
  let pending = 2;
  const done = () => { if (--pending === 0) { log('exit', { code: 0 }); process.exit(0); } };
  for (const srv of [server, adminServer]) { srv.close(done); srv.closeIdleConnections(); }
  setTimeout(() => { log('exit', { code: 0, forced: true }); process.exit(0); }, 2000).unref(); // hung keep-alive sockets
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.on('SIGHUP', () => log('signal', { signal: 'SIGHUP' }));
