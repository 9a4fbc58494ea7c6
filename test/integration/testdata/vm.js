'use strict';
// Tools for the cgroup v2 VM's scenarios; each prints JSON lines starting
// {"vm": ...} on the console.
//
//   node vm.js wait URL REGEX [MIN]
//     GET URL every 100 ms until its body matches REGEX (and, with MIN,
//     until the number REGEX captures exceeds MIN); print the match and the
//     body's crinit_cgroup_ lines. Exit 1 after 120 s.
//   node vm.js rise URL REGEX
//     wait for a number above 0, then for one above that first reading:
//     two readings of a counter that is rising.
//   node vm.js kmsg
//     Print the kernel's OOM kills ("Killed process PID") from /dev/kmsg
//     with their wall-clock time, found by writing a marker to /dev/kmsg:
//     its kernel timestamp and Date.now() just before give the offset.
const fs = require('node:fs');
const http = require('node:http');

function get(url) {
  return new Promise((resolve) => {
    const r = http.get(url, { agent: false, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(body));
    });
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', () => resolve(''));
  });
}

async function wait(url, pattern, min) {
  const re = new RegExp(pattern, 'm');
  const end = Date.now() + 120000;
  for (;;) {
    const body = await get(url);
    const m = body.match(re);
    if (m && (min === undefined || Number(m[1]) > Number(min))) {
      const lines = body.split('\n').filter((l) => l.startsWith('crinit_cgroup_'));
      console.log(JSON.stringify({ vm: 'wait', url, match: m[0], lines }));
      return Number(m[1]);
    }
    if (Date.now() > end) {
      console.log(JSON.stringify({ vm: 'wait', url, timeout: true, pattern, min }));
      process.exitCode = 1;
      return undefined;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

// kmsgRecords reads every record /dev/kmsg holds: "PRI,SEQ,TS_US,FLAGS;TEXT".
function kmsgRecords() {
  const fd = fs.openSync('/dev/kmsg', fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const buf = Buffer.alloc(8192);
  const out = [];
  for (;;) {
    let n;
    try {
      n = fs.readSync(fd, buf, 0, buf.length, null);
    } catch (err) {
      if (err.code === 'EPIPE') continue; // records overwritten before read
      break; // EAGAIN: no more
    }
    const rec = buf.toString('utf8', 0, n);
    const [head, text] = [rec.slice(0, rec.indexOf(';')), rec.slice(rec.indexOf(';') + 1).split('\n')[0]];
    out.push({ us: Number(head.split(',')[2]), text });
  }
  fs.closeSync(fd);
  return out;
}

function kmsg() {
  const marker = 'crinit-vm-clock ' + process.pid;
  const before = Date.now();
  fs.writeFileSync('/dev/kmsg', marker + '\n');
  const recs = kmsgRecords();
  const mark = recs.find((r) => r.text.includes(marker));
  if (!mark) {
    console.log(JSON.stringify({ vm: 'kmsg', error: 'marker not found' }));
    process.exitCode = 1;
    return;
  }
  const offsetMs = before - mark.us / 1000;
  for (const r of recs) {
    const at = new Date(r.us / 1000 + offsetMs).toISOString();
    const m = r.text.match(/Killed process (\d+) \(([^)]*)\)/);
    if (m) console.log(JSON.stringify({ vm: 'kmsg', killed_pid: Number(m[1]), comm: m[2], at }));
    const inv = r.text.match(/^(\S+) invoked oom-killer/);
    if (inv) console.log(JSON.stringify({ vm: 'kmsg', invoked_by: inv[1], at, text: r.text }));
  }
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'wait') {
  wait(...args);
} else if (cmd === 'rise') {
  const [url, pattern] = args;
  wait(url, pattern, 0).then((first) => first === undefined || wait(url, pattern, first));
} else if (cmd === 'kmsg') {
  kmsg();
} else {
  console.error('usage: vm.js wait URL REGEX [MIN] | rise URL REGEX | kmsg');
  process.exitCode = 2;
}
