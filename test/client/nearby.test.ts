// Nearby browser pieces that need no network: TXT decoding and bad interfaces (which fail
// before any socket is opened). Browsing itself is tested in namespaces: test/plugins/mdns/.
import t from 'tap'
import { browseNearby, decodeTxt, NearbyBrowser, NearbyInterfaceError } from '../../src/client/nearby.js'

t.test('decodeTxt keeps dots and later "=", lower-cases keys, first key wins', async t => {
  t.same(decodeTxt([Buffer.from('version=0.27.1'), Buffer.from('name=Box 1.2'), Buffer.from('fingerprint=abc')]), { version: '0.27.1', name: 'Box 1.2', fingerprint: 'abc' })
  t.same(decodeTxt([Buffer.from('Extra=a=b'), Buffer.from('flag'), Buffer.from('extra=c'), Buffer.from('')]), { extra: 'a=b', flag: '' })
  t.same(decodeTxt(Buffer.from('name=x')), { name: 'x' })
  t.same(decodeTxt(['name=y', 42]), { name: 'y' })
  t.same(decodeTxt([Buffer.from('=novalue')]), {})
})

t.test('an unknown interface is a clear error, before any socket', async t => {
  const browser = new NearbyBrowser({ interface: 'nope0' })
  t.throws(() => browser.start(), NearbyInterfaceError)
  t.throws(() => browser.start(), { code: 'ERR_MDNS_INTERFACE', message: "network interface 'nope0' not found or has no IPv4 address" })
  t.same(browser.servers(), [])
  await browser.dispose()
  await browser.dispose()
  t.throws(() => browser.start(), /disposed/)
  await t.rejects(browseNearby({ interface: '203.0.113.7', timeoutMs: 100 }), { code: 'ERR_MDNS_INTERFACE' })
})
