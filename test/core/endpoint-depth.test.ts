// The endpoint's nesting guard is iterative, so hostile depth cannot exhaust the stack, and
// an id too deep to echo is answered with a null id instead of a dropped request.
import t from 'tap'
import { MAX_PARAMS_DEPTH, nestedDeeperThan } from '../../src/core/rpc/dispatch.js'
import { TestClient } from '../helpers/client.js'
import { startServer } from '../helpers/server.js'

t.test('nestedDeeperThan', async t => {
  t.equal(nestedDeeperThan(null, 1), false)
  t.equal(nestedDeeperThan('x', 0), false)
  t.equal(nestedDeeperThan({}, 1), false)
  t.equal(nestedDeeperThan({ a: {} }, 1), true)
  t.equal(nestedDeeperThan([[1]], 2), false)
  t.equal(nestedDeeperThan([[[1]]], 2), true)
  t.equal(nestedDeeperThan(JSON.parse('['.repeat(100_000) + ']'.repeat(100_000)), MAX_PARAMS_DEPTH), true)
  let v: unknown = 1
  for (let i = 0; i < MAX_PARAMS_DEPTH; i++) v = { v }
  t.equal(nestedDeeperThan(v, MAX_PARAMS_DEPTH), false, 'exactly the limit is fine')
})

t.test('deep params and deep ids over the wire', async t => {
  const server = await startServer(t)
  const c = await TestClient.paired(t, server)
  const res = await c.request('server_info', JSON.parse('['.repeat(1000) + ']'.repeat(1000)), 9)
  t.same(res.error, { code: -1, message: `Invalid parameter 'params': nested deeper than ${MAX_PARAMS_DEPTH} levels` })
  const from = c.frames.length
  c.sendText(`{"id":${'['.repeat(50_000)}${']'.repeat(50_000)},"method":"server_info"}`)
  const f = await c.waitFor(() => true, 5000, from)
  t.match(f.text, /^\{"id":null,"result":/, 'an id that cannot be echoed becomes null')
  t.ok((await c.call('server_info')).name, 'still serving')
})
