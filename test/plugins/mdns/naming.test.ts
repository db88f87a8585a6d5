// What the advertisement says (wire doc §8.4): instance name, host label, TXT record.
import t from 'tap'
import { instanceName, shortHostname, txtRecord } from '../../../src/plugins/mdns/index.js'

t.test('instance name is "<server name> (<hostname>)"', async t => {
  t.equal(instanceName('Work Laptop', 'laptop'), 'Work Laptop (laptop)')
  t.equal(instanceName('Lab v2.1', 'lab'), 'Lab v2\u20241 (lab)', 'a dot becomes U+2024 (ciao would split the label)')
  const long = instanceName('é'.repeat(63), 'host')
  t.ok(Buffer.byteLength(long) <= 58, `fits one DNS label with room for a rename suffix (${Buffer.byteLength(long)} bytes)`)
  t.ok(long.endsWith(' (host)'), 'the host part is kept')
  t.notOk(long.includes('\ufffd'), 'cut on a character boundary')
})

t.test('host name is one DNS label', async t => {
  t.equal(shortHostname('build.example.com'), 'build')
  t.equal(shortHostname('my_host'), 'my-host')
  t.equal(shortHostname('--'), 'claudette')
  t.match(shortHostname(), /^[A-Za-z0-9-]+$/)
})

t.test('TXT: version (optional), name, first 16 hex of the fingerprint, values verbatim', async t => {
  const fp = 'ABCDEF0123456789'.toLowerCase() + 'f'.repeat(48)
  t.same(txtRecord({ name: 'Box 1.2', version: '0.27.1' }, fp, true), { version: '0.27.1', name: 'Box 1.2', fingerprint: 'abcdef0123456789' })
  t.same(txtRecord({ name: 'Box', version: '0.27.1' }, fp.toUpperCase(), false), { name: 'Box', fingerprint: 'abcdef0123456789' })
})
