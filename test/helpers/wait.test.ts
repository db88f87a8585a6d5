// The waiting helpers fail when what they wait for never happens, and say what it was.
import t from 'tap'
import { eventually, observe, waitFor, WaitTimeoutError, within } from './wait.js'

t.test('waitFor resolves with the first truthy value, and fails at the deadline naming what and the last value', async t => {
  let n = 0
  t.equal(await waitFor(() => ++n >= 3 && n, { interval: 1 }), 3)
  await t.rejects(waitFor(() => 0, { timeout: 30, what: 'nothing' }), { constructor: WaitTimeoutError, message: /^timed out after 30 ms waiting for nothing; last value: 0$/ })
  await t.rejects(waitFor(() => { throw new Error('stopped early') }), /stopped early/, 'a predicate that throws fails the wait at once')
})

t.test('eventually resolves false at the deadline; within falls back at its deadline', async t => {
  t.equal(await eventually(async () => false, { timeout: 20 }), false)
  t.equal(await eventually(() => true), true)
  t.equal(await within(new Promise(() => {}), 10, 'late'), 'late')
  t.equal(await within(Promise.resolve(1), 10_000, 'late'), 1)
})

t.test('a named delay needs its reason', async t => {
  await t.rejects(observe(1, ' '), /needs the reason/)
})
