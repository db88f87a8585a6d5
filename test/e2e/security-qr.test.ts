// `qr` prints the connection string as a QR code (block characters when piped), followed by
// the string itself; --json gives both.
import t from 'tap'
import { tempHome } from '../helpers/server.js'
import { runCli } from './security-support.js'

t.test('qr prints a QR code and the connection string', async t => {
  const home = tempHome(t)
  const cs = (await runCli(['--home', home, 'show-connection-string'])).stdout.trim()
  const res = await runCli(['--home', home, 'qr'])
  t.equal(res.code, 0, res.stderr)
  const lines = res.stdout.replace(/\n$/, '').split('\n')
  t.equal(lines.at(-1), cs, 'the connection string follows the code')
  const code = lines.slice(0, -2)
  t.ok(code.length >= 15, `${code.length} lines of QR code`)
  t.ok(code.every(l => /^[ █▀▄]+$/.test(l)), 'only block characters')
  t.equal(new Set(code.map(l => l.length)).size, 1, 'every row has the same width (quiet zone kept)')

  const json = JSON.parse((await runCli(['--home', home, '--json', 'qr'])).stdout)
  t.equal(json.connection_string, cs)
  t.match(json.qr, /█/)
})
