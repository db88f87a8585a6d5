import t from 'tap'
import { DispatchLanes } from '../../../src/plugins/agents/dispatch-lanes.js'

const gate = (): { promise: Promise<void>, open: () => void } => {
  let open!: () => void
  const promise = new Promise<void>(resolve => { open = resolve })
  return { promise, open }
}

t.test('one session runs its dispatches in order; another session does not wait for it', async t => {
  const lanes = new DispatchLanes()
  const order: string[] = []
  const hold = gate()
  const first = lanes.run('a', async () => { await hold.promise; order.push('a1') })
  const second = lanes.run('a', async () => { order.push('a2') })
  await lanes.run('b', async () => { order.push('b1') })
  t.same(order, ['b1'], 'b ran while a waited')
  hold.open()
  await Promise.all([first, second])
  t.same(order, ['b1', 'a1', 'a2'])
})

t.test('a failed dispatch rejects its caller and does not stop the next one', async t => {
  const lanes = new DispatchLanes()
  await t.rejects(lanes.run('a', async () => { throw new Error('spawn failed') }), { message: 'spawn failed' })
  let ran = false
  await lanes.run('a', async () => { ran = true })
  t.ok(ran)
})

t.test('cancelQueued skips the queued dispatches scheduled before it, not those after', async t => {
  const lanes = new DispatchLanes()
  const ran: string[] = []
  const hold = gate()
  const running = lanes.run('a', async () => { await hold.promise; ran.push('running') })
  const queued = lanes.runQueued('a', async () => { ran.push('queued') })
  const other = lanes.runQueued('b', async () => { ran.push('other session') })
  lanes.cancelQueued('a')
  const later = lanes.runQueued('a', async () => { ran.push('later') })
  hold.open()
  await Promise.all([running, queued, other, later])
  t.same(ran, ['other session', 'running', 'later'])
})

t.test('cancelling a session with nothing queued affects nothing later', async t => {
  const lanes = new DispatchLanes()
  lanes.cancelQueued('a')
  let ran = false
  await lanes.runQueued('a', async () => { ran = true })
  t.ok(ran)
})
