// crinit's node preload: the app's own server.listen(PORT) accepts on the
// socket crinit holds and passes down (systemd's sd_listen_fds protocol:
// LISTEN_FDS, LISTEN_PID, fds 3..), READY=1 tells crinit it serves, and
// SIGTERM stops it gracefully. crinit loads it into every node process
// through NODE_OPTIONS (--import=data:...); it acts only in the process
// LISTEN_PID names. Any error of its own leaves Node's behaviour untouched.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';

const env = process.env;

try {
  const held = heldSockets();
  if (held) install(held);
} catch {
  // Without the preload the app runs as it always did.
}

// heldSockets is [{fd, host, port} | {fd, path}] in fd order, or null when
// this process is not the one crinit passed the sockets to.
// GRACE_MS is how long a graceful stop goes on serving, each request with
// Connection: close, before it stops accepting and closes idle connections.
const GRACE_MS = 300;

function heldSockets() {
  if (!isMainThread || env.LISTEN_PID !== String(process.pid)) return null;
  const n = Number(env.LISTEN_FDS);
  const addrs = (env.CRINIT_LISTEN_ADDRS || '').split(',');
  if (!Number.isInteger(n) || n < 1 || addrs.length !== n) return null;
  return addrs.map((a, i) => ({ fd: 3 + i, ...parseAddr(a) }));
}

// parseAddr reads tcp://HOST:PORT (IPv6 in brackets) or unix:///path; an
// entry it cannot read matches nothing.
function parseAddr(a) {
  if (a.startsWith('unix:///')) return { path: a.slice('unix://'.length) };
  const m = /^tcp:\/\/(\[[^\]]*\]|[^:/[\]]*):(\d+)$/.exec(a);
  return m ? { host: canon(m[1]), port: Number(m[2]) } : {};
}

const WILDCARD = new Set(['', '0.0.0.0', '::']);

// canon is a host as compared: lower case, without brackets, IPv6 in its
// short form (0:0::1 is ::1).
function canon(h) {
  h = String(h ?? '').toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h.includes(':')) {
    try {
      h = new URL(`http://[${h}]/`).hostname.slice(1, -1);
    } catch {
      // not an IPv6 address: compared as written
    }
  }
  return h;
}

function hostMatches(want, have) {
  if (WILDCARD.has(want) || WILDCARD.has(have) || want === have) return true;
  return want === 'localhost' && (have === '127.0.0.1' || have === '::1');
}

function install(held) {
  const notifyFd = /^\d+$/.test(env.CRINIT_NOTIFY_FD || '') ? Number(env.CRINIT_NOTIFY_FD) : -1;
  const sent = new Set(); // every message is sent once per process
  const used = new Set(); // held fds a server took
  const serving = new Set(); // servers on a held fd, until their 'close'
  const live = new WeakMap(); // server -> {conns, inFlight}
  let stopping = false;

  function notify(msg) {
    msg = msg.replace(/[\x00-\x1f]/g, '?'); // one line, whatever a path holds
    if (notifyFd < 0 || sent.has(msg)) return;
    sent.add(msg);
    try {
      fs.writeSync(notifyFd, msg + '\n');
    } catch {
      // EPIPE, EBADF: crinit no longer listens; the app goes on.
    }
  }

  // isSocket is false for a held fd something else closed or replaced.
  function isSocket(fd) {
    try {
      return fs.fstatSync(fd).isSocket();
    } catch {
      return false;
    }
  }

  // choose decides how a listen call with args is served, as Node's own
  // normalizeArgs and listen read them: {fd, own} when it takes a held fd
  // (own: the app named the fd itself), null to leave it to Node.
  function choose(server, args) {
    if (server._handle || args.length === 0) return null;
    const a = args[0];
    let port;
    let host;
    let file;
    if (a !== null && typeof a === 'object') {
      const handle = a._handle || a.handle;
      if (handle) {
        if (held.some((h) => h.fd === handle.fd)) used.add(handle.fd); // not a second time
        return null;
      }
      if (typeof a.fd === 'number') {
        const ok = held.some((h) => h.fd === a.fd) && !used.has(a.fd);
        return ok ? { fd: a.fd, own: true } : null;
      }
      if (a.port == null && 'port' in a) return null; // {port: undefined}: port 0
      ({ port, host, path: file } = a);
    } else if (typeof a === 'string' && !(Number(a) >= 0)) {
      file = a;
    } else {
      port = a;
      if (typeof args[1] === 'string') host = args[1];
    }
    if (typeof port === 'number' || typeof port === 'string') {
      const p = Number(port);
      if (!Number.isInteger(p) || p <= 0 || p > 65535) return null; // port 0 or Node's error
      const want = canon(host);
      const fits = held.filter((h) => h.port === p && hostMatches(want, h.host));
      const h = fits.find((f) => !used.has(f.fd) && isSocket(f.fd));
      if (h) return { fd: h.fd, own: false };
      if (fits.length === 0) {
        const shown = want === '' ? '0.0.0.0' : want.includes(':') ? `[${want}]` : want;
        notify(`CRINIT_UNHELD=tcp://${shown}:${p}`);
      }
      return null;
    }
    if (typeof file === 'string' && file !== '' && !(Number(file) >= 0)) {
      const full = file[0] === '\0' ? file : path.resolve(file);
      const fits = held.filter((h) => h.path === full);
      const h = fits.find((f) => !used.has(f.fd) && isSocket(f.fd));
      if (h) return { fd: h.fd, own: false, path: full };
      if (fits.length === 0) notify(`CRINIT_UNHELD=unix://${full}`);
    }
    return null;
  }

  // adopt follows a server on a held fd: readiness, responses in flight
  // for the graceful stop, and its end.
  function adopt(server, use) {
    serving.add(server);
    if (use.path && !server._pipeName) server._pipeName = use.path; // server.address() of a unix fd
    server.once('listening', () => notify('READY=1'));
    server.once('close', () => serving.delete(server));
    const conns = new Set();
    const inFlight = new Set();
    live.set(server, { conns, inFlight });
    server.on('connection', (sock) => {
      conns.add(sock);
      sock.once('close', () => conns.delete(sock));
    });
    server.prependListener('request', (req, res) => {
      try {
        if (!('shouldKeepAlive' in res)) return; // not HTTP/1 (http2 shares one connection)
        if (stopping) res.shouldKeepAlive = false; // Connection: close
        inFlight.add(res);
        const sock = req.socket;
        res.once('close', () => {
          inFlight.delete(res);
          if (stopping && sock && !sock.destroyed) sock.destroySoon();
        });
      } catch {
        // the request is served as Node would
      }
    });
  }

  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function (...args) {
    let use = null;
    try {
      use = choose(this, args);
    } catch {
      use = null;
    }
    if (!use) return listen.apply(this, args);
    used.add(use.fd);
    let ret;
    try {
      if (use.own) {
        ret = listen.apply(this, args);
      } else {
        const opts = { fd: use.fd };
        if (args[0] && typeof args[0] === 'object' && args[0].signal) opts.signal = args[0].signal;
        const cb = args[args.length - 1];
        ret = typeof cb === 'function' ? listen.call(this, opts, cb) : listen.call(this, opts);
      }
    } catch (err) {
      used.delete(use.fd);
      throw err;
    }
    try {
      adopt(this, use);
    } catch {
      // it serves; only readiness or the graceful stop may be missing
    }
    return ret;
  };

  if (env.CRINIT_LISTEN_GRACEFUL === '0') return;

  // die is what SIGTERM does without a listener: end the process by it.
  function die() {
    process.removeListener('SIGTERM', onTerm);
    process.kill(process.pid, 'SIGTERM');
  }

  function onTerm() {
    if (stopping) return;
    if (process.listenerCount('SIGTERM') > 1) {
      // The app's own handler decides, as if the preload were not there: a
      // listener that acts only when it is the last one (signal-exit's)
      // must not see this one.
      process.removeListener('SIGTERM', onTerm);
      return;
    }
    if (serving.size === 0) return die();
    try {
      stopping = true;
      notify('CRINIT_STOPPING=1');
      const servers = [...serving];
      for (const server of servers) {
        const { inFlight = [] } = live.get(server) || {};
        for (const res of inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
      }
      // For GRACE_MS the servers go on: every request (on a keep-alive
      // connection, or on a fresh one accepted just before) is served with
      // Connection: close, which ends its connection cleanly. Closing an
      // idle connection at once would race with a request the client may
      // be sending on it. The timer is not unref'd: the process must live
      // to run it.
      setTimeout(() => closeAll(servers), GRACE_MS);
    } catch {
      die();
    }
  }

  // closeAll stops accepting (new connections wait in the kernel's backlog
  // of the socket crinit still holds, for the next child), closes idle
  // connections, and exits 0 once every server has closed.
  function closeAll(servers) {
    try {
      let open = servers.length;
      for (const server of servers) {
        server.close(() => {
          if (--open === 0) process.exit(0);
        });
        const { conns = [] } = live.get(server) || {};
        if (typeof server.closeIdleConnections === 'function') {
          // HTTP: idle connections go. One that has not sent a byte yet
          // was most likely accepted just now, its request on the way: it
          // gets another GRACE_MS to send it, and one still silent then (a
          // preconnect, which Node does not count as idle) goes. A raw net
          // protocol may have the server speak first: its connections are
          // the app's to end.
          server.closeIdleConnections();
          setTimeout(() => {
            for (const sock of conns) if (sock.bytesRead === 0) sock.destroy();
          }, GRACE_MS).unref();
        }
      }
    } catch {
      die();
    }
  }

  process.on('SIGTERM', onTerm);
}

// Stack traces name this file, not its data: URL.
//# sourceURL=crinit-listen-preload.mjs
