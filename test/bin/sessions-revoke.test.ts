// `claudette-server sessions revoke` of several devices and --all, as scripts call it (no
// terminal, so no question): every id is resolved before any is revoked, one unknown id revokes
// nothing, and a running server drops the revoked devices.
import t from 'tap'
import { SERVER_BIN, runCli } from '../helpers/cli.js'
import { TestClient } from '../helpers/client.js'
import { startServer } from '../helpers/server.js'

t.test('sessions revoke: several ids, a typo among them, --all', async t => {
  const server = await startServer(t)
  const admin = (...args: string[]) => runCli(SERVER_BIN, ['--home', server.home, ...args])
  for (const name of ['one', 'two', 'three', 'four']) await TestClient.paired(t, server, name)
  const list = (): Promise<Array<{ id: string, name: string }>> => admin('sessions', 'list', '--json').then(r => JSON.parse(r.stdout))
  const byName = new Map((await list()).map(s => [s.name, s.id]))

  const typo = await admin('sessions', 'revoke', byName.get('one')!, 'zzzzzzzz')
  t.equal(typo.code, 1)
  t.match(typo.stderr, /no session matches 'zzzzzzzz'/)
  t.equal((await list()).length, 4, 'one unknown id revokes nothing')

  // Without a terminal and without --yes: no question, as before (scripts keep working).
  const two = await admin('sessions', 'revoke', byName.get('one')!.slice(0, 8), byName.get('two')!)
  t.equal(two.code, 0, two.stderr)
  t.equal(two.stdout, `Revoked session ${byName.get('one')}.\nRevoked session ${byName.get('two')}.\n`)
  t.same((await list()).map(s => s.name).sort(), ['four', 'three'])

  const single = JSON.parse((await admin('--json', 'sessions', 'revoke', byName.get('three')!)).stdout)
  t.same(single, { revoked: byName.get('three') }, 'one id: --json names it as before')

  const both = await admin('sessions', 'revoke', '--all', byName.get('four')!)
  t.equal(both.code, 2)
  t.match(both.stderr, /^error: give session ids or --all, not both\nUsage: claudette-server/)
  const all = JSON.parse((await admin('--json', 'sessions', 'revoke', '--all')).stdout)
  t.same(all, { revoked: [byName.get('four')] })
  t.same(await list(), [])
  t.equal((await admin('sessions', 'revoke', '--all')).stdout, 'No paired devices.\n')
})
