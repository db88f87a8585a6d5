// Metrics of real servers scraped over HTTP and parsed as Prometheus text: the figures match a
// session with calls, a failed authentication, a terminal and a (fake) agent; two servers in one
// process keep separate registries; a public bind needs `public`; the listener's connections are capped.
import t from 'tap'
import { createServer, MetricsBindError, resolve } from '../../../src/index.js'
import { METRICS } from '../../../src/plugins/metrics/types.js'
import { makeRepo, turn } from '../agents/_helpers.js'
import { SHELL_OPTS } from '../terminals/_helpers.js'
import { TestClient } from '../../helpers/client.js'
import { startServer, tempHome } from '../../helpers/server.js'
import { waitFor } from '../../helpers/wait.js'
import { scrape } from './_prometheus.js'

const METRICS_ON = { metrics: { bind: '127.0.0.1:0' } }

t.test('a session\'s figures: connections, calls by method and outcome, latency, auth failures, terminals, agents', async t => {
  const server = await startServer(t, { ...METRICS_ON, terminals: SHELL_OPTS })
  t.match(server.metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
  const url = server.metricsUrl!

  const before = await scrape(url)
  t.equal(before.status, 200)
  t.match(before.contentType, /^text\/plain; version=0\.0\.4/)
  t.equal(before.metrics.get('claudette_connections', { state: 'authenticated' }), 0)

  const c = await TestClient.paired(t, server, 'laptop')
  await c.call('list_sessions')
  await c.call('list_sessions')
  t.equal((await c.request('no_such_method', {})).error?.message, 'Unknown method: no_such_method')
  t.ok((await c.request('rename_chat_session', { chat_session_id: 42 })).error, 'invalid params')

  // One failed authentication, on a connection that then goes away.
  const intruder = await TestClient.connect(t, server)
  t.ok((await intruder.request('authenticate', { pairing_token: 'nope' })).error)
  intruder.close()
  await intruder.closed

  // A terminal and an agent (the fake claude stays running between turns).
  const repo = await c.call('add_repository', { path: makeRepo(t) })
  const { workspace, default_session_id: chatId } = await c.call('create_workspace', { repository_id: repo.id, name: 'metrics' })
  await c.call('spawn_pty', { workspace_id: workspace.id, cols: 80, rows: 24 })
  await turn(c, chatId, 'hello')

  // The closed connection is counted once the server saw it close.
  const after = await waitFor(async () => {
    const s = await scrape(url)
    return s.metrics.get('claudette_connections_closed_total', { authenticated: 'false' }) === 1 ? s : null
  }, { what: 'the intruder\'s close counted' })
  const m = after.metrics
  t.equal(m.types.get('claudette_connections'), 'gauge')
  t.equal(m.get('claudette_connections', { state: 'authenticated' }), 1)
  t.equal(m.get('claudette_connections', { state: 'unauthenticated' }), 0)
  t.equal(m.get('claudette_connections_accepted_total'), 2)
  t.equal(m.get('claudette_connections_refused_total', { cause: 'limit' }), 0)
  t.equal(m.get('claudette_auth_failures_total'), 1)
  t.equal(m.get('claudette_auth_lockouts_total'), 0)

  t.equal(m.types.get('claudette_rpc_calls_total'), 'counter')
  t.equal(m.get('claudette_rpc_calls_total', { method: 'list_sessions', outcome: 'ok' }), 2)
  t.equal(m.get('claudette_rpc_calls_total', { method: '(unknown)', outcome: 'error' }), 1)
  t.equal(m.get('claudette_rpc_calls_total', { method: 'rename_chat_session', outcome: 'error' }), 1)
  t.equal(m.get('claudette_rpc_calls_total', { method: 'send_chat_message', outcome: 'ok' }), 1)
  t.notOk(after.body.includes('no_such_method'), 'a name nobody registered never becomes a label')
  t.equal(m.types.get('claudette_rpc_duration_seconds'), 'histogram')
  t.equal(m.get('claudette_rpc_duration_seconds_count', { method: 'list_sessions' }), 2)
  t.equal(m.get('claudette_rpc_duration_seconds_bucket', { method: 'list_sessions', le: '+Inf' }), 2)
  t.ok(m.get('claudette_rpc_duration_seconds_sum', { method: 'list_sessions' })! > 0)

  t.equal(m.get('claudette_terminals'), 1)
  t.equal(m.get('claudette_terminals_opened_total'), 1)
  t.equal(m.get('claudette_agents_running'), 1)
  t.equal(m.get('claudette_agents_started_total'), 1)

  t.ok(m.get('process_resident_memory_bytes')! > 0, 'process memory')
  t.ok(m.get('nodejs_heap_size_used_bytes')! > 0, 'heap')
  t.ok(m.get('nodejs_eventloop_lag_seconds')! >= 0, 'event-loop lag')

  const other = await fetch(url.replace('/metrics', '/'))
  t.equal(other.status, 404)
  await other.text()
})

t.test('two servers in one process: separate registries, separate figures', async t => {
  const a = await startServer(t, METRICS_ON)
  const b = await startServer(t, METRICS_ON)
  t.not(a.metricsUrl, b.metricsUrl)
  t.not(resolve(a.app.di, METRICS.Endpoint).registry, resolve(b.app.di, METRICS.Endpoint).registry)
  const ca = await TestClient.paired(t, a)
  await ca.call('list_sessions')
  const ma = (await scrape(a.metricsUrl!)).metrics
  const mb = (await scrape(b.metricsUrl!)).metrics
  t.equal(ma.get('claudette_rpc_calls_total', { method: 'list_sessions', outcome: 'ok' }), 1)
  t.equal(mb.get('claudette_rpc_calls_total', { method: 'list_sessions', outcome: 'ok' }), undefined)
  t.equal(ma.get('claudette_connections', { state: 'authenticated' }), 1)
  t.equal(mb.get('claudette_connections', { state: 'authenticated' }), 0)

  // Closing one leaves the other's metrics (default ones included) whole.
  const urlA = a.metricsUrl!
  await a.close()
  await t.rejects(fetch(urlA), 'the closed server\'s listener is gone')
  const still = (await scrape(b.metricsUrl!)).metrics
  t.ok(still.get('process_resident_memory_bytes')! > 0)
  t.equal(still.get('claudette_connections', { state: 'authenticated' }), 0)
})

t.test('off by default; a public address needs `public`; a bad bind is a clear error', async t => {
  const plain = await startServer(t)
  t.equal(plain.metricsUrl, null)
  await t.rejects(createServer({ home: tempHome(t), mdns: false, metrics: { bind: '0.0.0.0:0' } }), MetricsBindError)
  await t.rejects(createServer({ home: tempHome(t), mdns: false, metrics: { bind: '0.0.0.0:0' } }), /not a loopback address.*--metrics-bind-public/)
  await t.rejects(createServer({ home: tempHome(t), mdns: false, metrics: { bind: 'localhost' } }), /must be host:port/)
  await t.rejects(createServer({ home: tempHome(t), mdns: false, metrics: { bind: '127.0.0.1:0', extra: 1 } }), /metrics/)
  // Accepted with `public` (created, not started: tests never listen beyond loopback).
  const open = await createServer({ home: tempHome(t), mdns: false, logLevel: 'silent', metrics: { bind: '0.0.0.0:0', public: true } })
  t.teardown(() => open.close())
  t.pass('a public address is accepted with `public`')
})

t.test('the metrics listener holds at most 16 connections, and drops a peer that sends nothing', async t => {
  const { connect } = await import('node:net')
  const server = await startServer(t, METRICS_ON)
  const port = Number(new URL(server.metricsUrl!).port)
  const sockets = Array.from({ length: 17 }, () => connect({ host: '127.0.0.1', port }))
  t.teardown(() => { for (const s of sockets) s.destroy() })
  for (const s of sockets) s.on('error', () => {})
  await Promise.all(sockets.map(s => new Promise(resolve => { s.once('connect', resolve); s.once('close', resolve) })))
  // The one over the limit is closed by the server at once; the other 16 stay until their
  // request times out (10 s, far longer than this takes).
  await waitFor(() => sockets.some(s => s.destroyed), { what: 'a connection over the limit to be closed', timeout: 20_000 })
  t.equal(sockets.filter(s => !s.destroyed).length, 16, 'one connection over the limit was closed, 16 stay')
  t.equal((await scrape(server.metricsUrl!).catch(() => ({ status: 0 }))).status, 0, 'a scrape now finds no room either')
  for (const s of sockets) s.destroy()
  await waitFor(async () => (await scrape(server.metricsUrl!).catch(() => ({ status: 0 }))).status === 200, { what: 'scrapes again once the idle peers are gone', timeout: 20_000 })
  t.pass('room again after they leave')
})
