// A server that listens on loopback only is not advertised (nobody else could connect), and
// closing it is clean. Host-safe: the library is loaded but no responder or socket is created.
import t from 'tap'
import { resolve } from '../../../src/core/tokens.js'
import { MDNS, type MdnsAdvertiser } from '../../../src/plugins/mdns/index.js'
import { startServer } from '../../helpers/server.js'

t.test('mdns on, bound to 127.0.0.1: skipped with a reason', async t => {
  const server = await startServer(t, { mdns: { includeVersion: false } })
  const advertiser = resolve(server.app.di, MDNS.Advertiser)
  // onListen runs right after listen(); give the (synchronous) skip a tick.
  await new Promise(resolve => setImmediate(resolve))
  t.match(advertiser.status(), { state: 'skipped', reason: /127\.0\.0\.1/ })
  await server.close()
  t.equal(advertiser.status().state, 'skipped', 'closing keeps the reason')
  await (advertiser as MdnsAdvertiser).dispose()
})

t.test('mdns off: the plugin is not registered', async t => {
  const server = await startServer(t, { mdns: false })
  t.notOk(server.app.hasPlugin('mdns'))
  t.notOk(server.app.di.isRegistered(MDNS.Advertiser))
})
