// Fuzzing the wire: thousands of malformed frames before and after authenticating (random
// text and bytes, deep nesting, huge numbers, wrong types for every parameter of every
// registered method, found by iterating app.rpc.names and their schemas, so methods other
// plugins add later are covered too). The server must answer each text frame exactly once,
// never run a handler with invalid params, log no error, and serve normally afterwards.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { compileChecker } from '../../src/core/schema.js'
import type { TestClient } from '../helpers/client.js'
import { pairingToken } from '../helpers/server.js'
import { connectFrom, pairDevice, startSecureServer } from './security-support.js'

/** A deterministic PRNG (mulberry32), so a failure can be replayed with the printed seed. */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const deepArray = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth)
const deepObject = (depth: number): string => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)

/** Values of every JSON type, including edge cases, to put where a parameter goes. */
const WRONG_VALUES: unknown[] = [
  null, true, false, 0, -1, 1.5, -0.000001, 1e308, -1e308, 2 ** 53 + 1, 4294967296, -2147483649,
  '', 'x', '0', 'true', 'null', '../../../../etc/passwd', '/', '\u0000', '\ud800', 'é'.repeat(3000), 'a'.repeat(70_000),
  [], [1], ['x'], [null], [[[]]], {}, { a: 1 }, { __proto__: { polluted: true } }, { constructor: { prototype: { x: 1 } } },
]

/** A plausible value of a property's own type (so a single wrong parameter is what fails). */
function plausible (schema: Record<string, unknown>): unknown {
  if ('default' in schema) return schema.default
  if ('const' in schema) return schema.const
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type
  switch (type) {
    case 'string': return 'x'
    case 'integer': case 'number': return 1
    case 'boolean': return true
    case 'array': return []
    case 'object': return {}
    case 'null': return null
  }
  const any = (schema.anyOf ?? schema.oneOf) as Array<Record<string, unknown>> | undefined
  return any?.length ? plausible(any[0]!) : 'x'
}

interface Probe { method: string, params: unknown, label: string }

/** Every registered method × every parameter (nested objects too) × every wrong value. */
function typedProbes (names: string[], schemaOf: (n: string) => unknown): { probes: Probe[], skippedValid: number, methods: number } {
  const probes: Probe[] = []
  let skippedValid = 0
  for (const method of names) {
    const schema = (schemaOf(method) ?? { type: 'object' }) as Record<string, unknown>
    const check = compileChecker(schema as never)
    const add = (params: unknown, label: string): void => {
      // The real compiled checker decides: a frame that would pass validation is not sent, so
      // the fuzzer never runs a handler (no shells spawned, nothing deleted).
      // Judged as the server will see it: after a JSON round trip (1e400 becomes null, ...).
      const wire = JSON.stringify(params)
      const seen = wire === undefined ? undefined : JSON.parse(wire)
      if (check(seen ?? {}).ok) { skippedValid++; return } // missing/null params mean {} (registry rule)
      probes.push({ method, params: seen, label })
    }
    for (const v of [[], [1, 2], 'params', 42, true, 1e400]) add(v, 'params as a non-object')
    const walk = (props: Record<string, Record<string, unknown>>, base: Record<string, unknown>, path: string[], depth: number): void => {
      for (const [name, sub] of Object.entries(props)) {
        for (const v of WRONG_VALUES) {
          const params = structuredClone(base)
          let at: Record<string, unknown> = params
          for (const p of path) at = at[p] as Record<string, unknown>
          at[name] = v
          add(params, [...path, name].join('.'))
        }
        const nested = sub.properties as Record<string, Record<string, unknown>> | undefined
        if (nested && depth < 3) {
          const inner = Object.fromEntries(Object.entries(nested).map(([k, s]) => [k, plausible(s)]))
          const b = structuredClone(base)
          let at: Record<string, unknown> = b
          for (const p of path) at = at[p] as Record<string, unknown>
          at[name] = inner
          walk(nested, b, [...path, name], depth + 1)
        }
      }
    }
    const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>
    const base = Object.fromEntries(Object.entries(props).map(([k, s]) => [k, plausible(s)]))
    walk(props, base, [], 0)
    add({ ...base, unexpected_parameter_xyz: 1 }, 'unknown parameter')
  }
  return { probes, skippedValid, methods: names.length }
}

function randomText (rnd: () => number): string {
  const len = Math.floor(rnd() * 200)
  let s = ''
  for (let i = 0; i < len; i++) {
    const r = rnd()
    s += r < 0.6 ? String.fromCharCode(32 + Math.floor(rnd() * 95)) : r < 0.8 ? '{}[]":,'[Math.floor(rnd() * 7)]! : String.fromCodePoint(Math.floor(rnd() * 0xD7FF))
  }
  return s
}

/** Malformed frames of the other kinds, all text, each expected to get exactly one reply. */
function miscFrame (rnd: () => number, i: number): string {
  switch (i % 10) {
    case 0: return randomText(rnd)
    case 1: return JSON.stringify({ id: `m-${i}`, method: randomText(rnd).slice(0, 40), params: {} })
    case 2: return `{"id":"d-${i}","method":"server_info","params":${deepArray(50_000 + i)}}`
    case 3: return `{"id":${deepArray(20_000)},"method":"server_info"}`
    case 4: return `{"id":"o-${i}","method":"list_sessions","params":${deepObject(5000)}}`
    case 5: return `{"id":1e400,"method":"server_info","params":{"n":123456789012345678901234567890123456789}}`
    case 6: return `{"id":-0,"method":${JSON.stringify(i)},"params":null}`
    case 7: return ['[]', '42', '"x"', 'null', 'true', '{}', '{"method":null}', '{"method":["server_info"]}'][i % 8]!
    case 8: return `{"id":"b-${i}","method":"revoke_session","params":{"session_id":${JSON.stringify('\ud83d'.repeat(50))}}}`
    default: return '{"id":' + '9'.repeat(400) + ',"method":"nope"}'
  }
}

/** Sends text frames and checks that exactly one reply came back for each, in order. */
async function sendAndCount (c: TestClient, frames: string[], sentinelId: string): Promise<number> {
  const from = c.frames.length
  for (const f of frames) c.sendText(f)
  c.sendText(JSON.stringify({ id: sentinelId, method: 'server_info' }))
  await c.waitFor(f => f.json?.id === sentinelId, 60_000, from)
  return c.frames.slice(from).filter(f => f.json === undefined || !('event' in f.json)).length - 1
}

t.test('5,000+ malformed frames: the server stays up and correct', async t => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000)
  t.comment(`FUZZ_SEED=${seed}`)
  const rnd = prng(seed)
  const { server, logs } = await startSecureServer(t, {
    maxPayload: 4 * 1024 * 1024,
    // The pre-auth phase fails on purpose thousands of times from 127.0.0.1.
    auth: { maxFailuresPerIp: 1_000_000, lockoutMs: 0 },
  })
  const started = Date.now()
  let sent = 0

  // Phase 1, before authenticating: random text, bytes, wrong-shaped authenticate params.
  let pre = await connectFrom(t, server)
  for (let i = 0; i < 1200; i++) {
    if (pre.ws.readyState !== pre.ws.OPEN) pre = await connectFrom(t, server)
    const r = i % 6
    if (r === 0) pre.sendBinary(randomBytes(1 + Math.floor(rnd() * 64)))
    else if (r === 1) pre.sendText(randomText(rnd))
    else if (r === 2) pre.sendText(JSON.stringify({ id: i, method: 'authenticate', params: WRONG_VALUES[i % WRONG_VALUES.length] }))
    else if (r === 3) pre.sendText(JSON.stringify({ id: i, method: 'authenticate', params: { pairing_token: WRONG_VALUES[i % WRONG_VALUES.length], session_token: WRONG_VALUES[(i + 7) % WRONG_VALUES.length], client_name: WRONG_VALUES[(i + 3) % WRONG_VALUES.length] } }))
    else if (r === 4) pre.sendText(`{"id":${i},"method":"authenticate","params":${deepArray(30_000)}}`)
    else pre.sendText(miscFrame(rnd, i))
    sent++
    if (r === 5 || r === 2 || r === 3 || r === 4) {
      // Counted attempts drop the socket after 3; wait for this one's reply or the drop.
      await Promise.race([pre.waitFor(f => f.json !== undefined, 10_000, pre.frames.length - 1).catch(() => {}), pre.closed])
    }
  }
  t.pass(`${sent} frames before authenticating`)

  // Phase 2, authenticated: wrong types for every parameter of every method, then the rest.
  const device = await pairDevice(t, server, logs, 'fuzzer')
  const { probes, skippedValid, methods } = typedProbes(server.app.rpc.names, n => server.app.rpc.schemaOf(n))
  t.ok(methods >= 3, `${methods} registered methods probed (${probes.length} typed frames, ${skippedValid} valid combinations skipped)`)
  const typedFrom = device.frames.length
  for (let i = 0; i < probes.length; i += 250) {
    const batch = probes.slice(i, i + 250).map((p, j) => JSON.stringify({ id: `p-${i + j}`, method: p.method, params: p.params }))
    const replies = await sendAndCount(device, batch, `sentinel-p-${i}`)
    t.equal(replies, batch.length, `typed batch ${i}: one reply per frame`)
    sent += batch.length
  }
  const typedReplies = device.frames.slice(typedFrom).filter(f => typeof f.json?.id === 'string' && f.json.id.startsWith('p-'))
  const bad = typedReplies.filter(f => f.json.error?.code !== -1 || !/^Invalid param(eter '|s: )/.test(f.json.error.message))
  t.same(bad.slice(0, 5).map((f, k) => ({ probe: probes[Number(f.json.id.slice(2))], reply: f.text?.slice(0, 300), k })), [], 'every typed probe answered with a validation error naming the parameter')
  t.equal(typedReplies.length, probes.length)

  // FUZZ_FRAMES scales this run up (bench/fuzz/fuzz.ts runs it with 100,000).
  const target = Math.max(Number(process.env.FUZZ_FRAMES ?? 5200) - sent, 2000)
  for (let i = 0; i < target; i += 200) {
    const batch = Array.from({ length: Math.min(200, target - i) }, (_, j) => miscFrame(rnd, i + j))
    const replies = await sendAndCount(device, batch, `sentinel-m-${i}`)
    t.equal(replies, batch.length, `misc batch ${i}: one reply per frame`)
    sent += batch.length
    // Binary frames of unknown or malformed types in between: ignored or answered by events.
    for (let k = 0; k < 10; k++) { device.sendBinary(randomBytes(1 + Math.floor(rnd() * 100))); sent++ }
  }
  const deep = device.frames.find(f => typeof f.json?.id === 'string' && f.json.id.startsWith('d-'))
  t.match(deep?.json.error, { code: -1, message: "Invalid parameter 'params': nested deeper than 64 levels" })
  const unknown = device.frames.find(f => typeof f.json?.id === 'string' && f.json.id.startsWith('m-'))
  t.match(unknown?.json.error?.message, /^Unknown method: |^Invalid parameter/)

  const elapsed = Date.now() - started
  t.ok(sent >= 5000, `${sent} malformed frames in ${elapsed} ms`)

  // Still up and correct: the fuzzing connection, a fresh pairing, and the device list.
  t.equal(device.ws.readyState, device.ws.OPEN, 'the fuzzing connection is still open')
  t.equal((await device.call('server_info')).name, server.name)
  const fresh = await connectFrom(t, server)
  const res = await fresh.request('authenticate', { pairing_token: pairingToken(server), client_name: 'after' })
  t.match(res.result?.session_token, /^[A-Za-z0-9_-]{43}$/, 'pairing still works')
  logs.secrets.add(res.result.session_token)
  t.same((await fresh.call('list_sessions')).map((s: { name: string }) => s.name).sort(), ['after', 'fuzzer'], 'no session was created by the fuzzer')

  const errors = logs.text.split('\n').filter(l => /"level":(50|60)/.test(l))
  t.same(errors.slice(0, 3), [], 'nothing was logged at error level')
  logs.check(t)
})

t.test('invalid UTF-8 in a text frame closes only that connection (1007)', async t => {
  const { server, logs } = await startSecureServer(t)
  const a = await pairDevice(t, server, logs, 'a')
  const b = await pairDevice(t, server, logs, 'b')
  a.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false })
  t.equal((await a.closed).code, 1007)
  t.ok((await b.call('server_info')).name)
  logs.check(t)
})
