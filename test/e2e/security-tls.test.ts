// TLS 1.0 and 1.1 clients are refused at the handshake; 1.2 and 1.3 are served.
import { once } from 'node:events'
import tls from 'node:tls'
import t from 'tap'
import { startSecureServer } from './security-support.js'

function handshake (port: number, opts: tls.ConnectionOptions): Promise<{ ok: true, protocol: string | null } | { ok: false, code: string }> {
  return new Promise(resolve => {
    const sock = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts })
    sock.once('secureConnect', () => { resolve({ ok: true, protocol: sock.getProtocol() }); sock.destroy() })
    sock.once('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, code: err.code ?? err.message }))
  })
}

t.test('TLS 1.0/1.1 refused, TLS 1.2/1.3 accepted', async t => {
  const { server, logs } = await startSecureServer(t)
  // SECLEVEL=0 lets the client actually offer the old versions, so the refusal is the server's.
  const legacy = { ciphers: 'DEFAULT@SECLEVEL=0' }
  for (const v of ['TLSv1', 'TLSv1.1'] as const) {
    const r = await handshake(server.port, { ...legacy, minVersion: 'TLSv1', maxVersion: v })
    t.equal(r.ok, false, `${v} refused`)
    if (!r.ok) t.match(r.code, /PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|WRONG_VERSION/, `${v}: ${r.code}`)
  }
  t.same(await handshake(server.port, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }), { ok: true, protocol: 'TLSv1.2' })
  t.same(await handshake(server.port, { minVersion: 'TLSv1.3' }), { ok: true, protocol: 'TLSv1.3' })

  // The server keeps serving after refusing.
  const s = tls.connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false })
  await once(s, 'secureConnect')
  s.destroy()
  t.ok(logs.text.length >= 0)
  logs.check(t)
})
