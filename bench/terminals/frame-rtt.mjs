// The cost of a WebSocket frame over TLS, measured by round trips between two Node processes on
// 127.0.0.1 (1-byte messages, 2 ms apart, 1,160 per mode, modes interleaved so that noise hits
// them alike): raw TLS echo, a `ws` server echoing with ws.send() (header and payload as two
// corked writes), and one echoing with one write of a prebuilt frame (what WireFrame does).
//   node bench/terminals/frame-rtt.mjs
import { spawn } from 'node:child_process'
import tls from 'node:tls'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
const require = createRequire(import.meta.url)
const { WebSocket, WebSocketServer } = require('ws')
const https = require('node:https')
const sleep = ms => new Promise(r => setTimeout(r, ms))
if (process.argv[2] === 'server') {
  const dir = process.argv[3]
  const key = readFileSync(join(dir, 'key.pem')), cert = readFileSync(join(dir, 'cert.pem'))
  const ports = {}
  const t = tls.createServer({ key, cert }, s => { s.setNoDelay(); s.on('data', d => s.write(d)) })
  await new Promise(r => t.listen(0, '127.0.0.1', r)); ports.tls = t.address().port
  for (const mode of ['wss', 'wssraw']) {
    const srv = https.createServer({ key, cert }); const wss = new WebSocketServer({ server: srv })
    wss.on('connection', ws => ws.on('message', (d, b) => {
      if (mode === 'wss') ws.send(d, { binary: b })
      else { const f = Buffer.allocUnsafe(2 + d.length); f[0] = 0x82; f[1] = d.length; d.copy(f, 2); ws._socket.write(f) }
    }))
    await new Promise(r => srv.listen(0, '127.0.0.1', r)); ports[mode] = srv.address().port
  }
  console.log(JSON.stringify(ports))
} else {
  const dir = mkdtempSync(join(tmpdir(), 'frame-rtt-'))
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' })
  const p = spawn(process.execPath, [process.argv[1], 'server', dir], { stdio: ['ignore', 'pipe', 'inherit'] })
  const ports = JSON.parse(String(await new Promise(r => p.stdout.once('data', r))))
  const conns = {}
  { const s = tls.connect({ port: ports.tls, host: '127.0.0.1', rejectUnauthorized: false }); await new Promise(r => s.once('secureConnect', r)); s.setNoDelay(); const c = { send: b => s.write(b) }; s.on('data', () => c.on()); conns.tls = c }
  for (const m of ['wss', 'wssraw']) { const ws = new WebSocket(`wss://127.0.0.1:${ports[m]}/`, { rejectUnauthorized: false, perMessageDeflate: false }); await new Promise(r => ws.once('open', r)); const c = { send: b => ws.send(b) }; ws.on('message', () => c.on()); conns[m] = c }
  const xs = { tls: [], wss: [], wssraw: [] }
  for (let round = 0; round < 30; round++) {
    for (const m of Object.keys(conns)) {
      const c = conns[m]
      for (let i = 0; i < 40; i++) {
        const got = new Promise(r => { c.on = r }); const t0 = performance.now(); c.send(Buffer.from('x')); await got; if (round > 0) xs[m].push(performance.now() - t0); await sleep(2)
      }
    }
  }
  for (const m of Object.keys(xs)) { const a = xs[m].sort((a, b) => a - b); console.log(m.padEnd(7), 'p50', a[a.length >> 1].toFixed(3), 'p25', a[a.length >> 2].toFixed(3), 'n', a.length) }
  p.kill(); rmSync(dir, { recursive: true, force: true }); process.exit(0)
}
