// Keys a client sends are looked up as own keys only. `get_app_setting` with `__proto__`,
// `constructor` or `valueOf` used to hit Object.prototype: `Internal error` and an error-level
// log line with a stack, which any device could repeat to flood the log.
import t from 'tap'
import { pairDevice, startSecureServer } from './security-support.js'

const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'valueOf', 'toString', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__', '__lookupGetter__']

t.test('prototype keys get the answer of any unknown key, and no error is logged', async t => {
  const { server, logs } = await startSecureServer(t)
  const device = await pairDevice(t, server, logs, 'proto')
  const unknown = await device.request('get_app_setting', { key: 'no_such_setting' })
  t.same(unknown, { id: unknown.id, result: null }, 'an unknown key reads as null')
  for (const key of PROTOTYPE_KEYS) {
    const res = await device.request('get_app_setting', { key })
    t.same(res, { id: res.id, result: null }, `get_app_setting ${key}: null like any unknown key`)
  }
  // They are ordinary keys: written, read back, and nothing else changes.
  for (const key of PROTOTYPE_KEYS) {
    t.same((await device.request('set_app_setting', { key, value: `v-${key}` })).result, null, `set_app_setting ${key}`)
    t.equal(await device.call('get_app_setting', { key }), `v-${key}`, `${key} reads back its own value`)
  }
  t.equal(await device.call('get_app_setting', { key: 'no_such_setting' }), null, 'other keys unaffected')
  t.ok((await device.call('get_app_setting', { key: 'worktree_base_dir' })), 'the computed setting still answers')

  const errors = logs.text.split('\n').filter(l => /"level":(50|60)/.test(l))
  t.same(errors.slice(0, 3), [], 'nothing was logged at error level')
  logs.check(t)
})
