// The wire's JSON text (src/core/rpc/serialize.ts): envelopes with their keys in alphabetical
// order, and sortKeys for payloads built from a bag of fields.
import t from 'tap'
import { serializeErrorReply, serializeEvent, serializeReply, sortKeys } from '../../src/core/rpc/serialize.js'

const keysDeep = (v: unknown): string[][] => {
  if (v === null || typeof v !== 'object') return []
  if (Array.isArray(v)) return v.flatMap(keysDeep)
  return [Object.keys(v), ...Object.values(v).flatMap(keysDeep)]
}

t.test('envelopes are byte-exact, keys in alphabetical order', async t => {
  t.equal(serializeEvent('pty-exit', { exit_code: 0, pty_id: 3, signal: null }), '{"event":"pty-exit","payload":{"exit_code":0,"pty_id":3,"signal":null}}')
  t.equal(serializeEvent('x', undefined), '{"event":"x","payload":null}')
  t.equal(serializeReply(7, { ok: true }), '{"id":7,"result":{"ok":true}}')
  t.equal(serializeReply(undefined, undefined), '{"id":null,"result":null}')
  t.equal(serializeErrorReply('a', -1, 'Must authenticate first'), '{"error":{"code":-1,"message":"Must authenticate first"},"id":"a"}')
  t.equal(serializeErrorReply(1, -1, 'Bad', { why: 1 }), '{"error":{"code":-1,"data":{"why":1},"message":"Bad"},"id":1}')
  for (const text of [serializeEvent('e', {}), serializeReply(1, 2), serializeErrorReply(1, -2, 'm', 0)]) {
    for (const keys of keysDeep(JSON.parse(text))) t.same(keys, [...keys].sort(), text)
  }
})

t.test('an id that cannot be serialized is echoed as null; a result that cannot throws', async t => {
  let deep: unknown = 1
  for (let i = 0; i < 100_000; i++) deep = [deep]
  t.equal(serializeErrorReply(deep, -32700, 'Parse error'), '{"error":{"code":-32700,"message":"Parse error"},"id":null}')
  t.throws(() => serializeReply(1, { n: 1n }))
})

t.test('sortKeys: one level, code-unit order, nullish members kept unless omitted', async t => {
  const o = { workspace_id: 'w', seq: 2, Z: 1, chat_session_id: 'c', nested: { b: 1, a: 2 }, gone: undefined, none: null }
  const sorted = sortKeys(o)
  t.same(Object.keys(sorted), ['Z', 'chat_session_id', 'gone', 'nested', 'none', 'seq', 'workspace_id'])
  t.same(Object.keys(sorted.nested), ['b', 'a'], 'nested objects keep their order')
  t.equal(JSON.stringify(sortKeys(o, { omitNullish: true })), '{"Z":1,"chat_session_id":"c","nested":{"b":1,"a":2},"seq":2,"workspace_id":"w"}')
  t.not(sorted, o, 'a copy')
  t.same(Object.keys(o)[0], 'workspace_id', 'the input is left alone')
})
