// The mdns option of createServer: off/on/object, and clear errors for bad values.
// Host-safe: nothing here opens a multicast socket (bad options fail before, loopback is skipped).
import t from 'tap'
import { createServer } from '../../../src/index.js'
import { mdnsPluginOptions } from '../../../src/plugins/mdns/index.js'

t.test('false turns the plugin off; true/undefined mean defaults; objects pass through', async t => {
  t.equal(mdnsPluginOptions(false), null)
  t.same(mdnsPluginOptions(true), {})
  t.same(mdnsPluginOptions(undefined), {})
  t.same(mdnsPluginOptions({ interface: 'eth0' }), { interface: 'eth0' })
  for (const bad of ['yes', 1, null, ['eth0']]) {
    t.throws(() => mdnsPluginOptions(bad), { code: 'ERR_CONFIG_INVALID', message: /mdns/ }, `rejects ${JSON.stringify(bad)}`)
  }
})

t.test('bad option values are ERR_CONFIG_INVALID naming the option', async t => {
  const cases: Array<[unknown, RegExp]> = [
    [{ bogus: 1 }, /mdns/],
    [{ includeVersion: 'no' }, /includeVersion/],
    [{ interface: '' }, /interface/],
    [{ hostname: 'has space' }, /hostname/],
    [{ goodbyeTimeoutMs: -1 }, /goodbyeTimeoutMs/],
    ['on', /mdns/],
  ]
  for (const [mdns, re] of cases) {
    await t.rejects(createServer({ home: t.testdir(), bind: '127.0.0.1', port: 0, logLevel: 'silent', mdns }), { code: 'ERR_CONFIG_INVALID', message: re }, JSON.stringify(mdns))
  }
})
