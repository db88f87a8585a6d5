// loadNative: a native package that does not load becomes one line that names what is
// unavailable, the package, the first line of why, and the fix; never a stack or a path list.
import t from 'tap'
import { NativeModuleError } from '../../src/core/errors.js'
import { loadNative } from '../../src/core/native.js'

t.test('a missing package is one line with impact, package, reason and fix', async t => {
  const err = t.throws(() => loadNative({ name: 'claudette-no-such-addon', impact: 'widgets are unavailable', fix: 'install it' })) as NativeModuleError
  t.ok(err instanceof NativeModuleError)
  t.equal(err.code, 'ERR_NATIVE_MODULE')
  t.equal(err.expose, true, 'the CLI prints it as is')
  t.match(err.message, /^widgets are unavailable: claudette-no-such-addon failed to load \(Cannot find module 'claudette-no-such-addon'[^\n]*\); install it$/)
  t.notMatch(err.message, /\n/)
})

t.test('a failing probe (the binary) is reported without the list of paths tried', async t => {
  const err = t.throws(() => loadNative({
    name: 'tap', impact: 'x is unavailable', fix: 'rebuild it',
    probe: () => { throw new Error('Could not locate the bindings file. Tried:\n → /a/build/x.node\n → /b/x.node') },
  })) as NativeModuleError
  t.equal(err.message, 'x is unavailable: tap failed to load (Could not locate the bindings file); rebuild it')
  t.equal((err.cause as Error).message.split('\n').length, 3, 'the full error stays as the cause')
})

t.test('a package that loads is returned', async t => {
  const mod = loadNative<typeof import('node:path')>({ name: 'node:path', impact: 'paths are unavailable', fix: '-', probe: p => { p.join('a') } })
  t.equal(mod.join('a', 'b'), 'a/b')
})
