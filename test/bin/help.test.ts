// Both CLIs' help: wrapped to the width asked for ($COLUMNS off a terminal), with examples and
// exit codes, and `claudette-server run --help` listing the options that shape the server.
import t from 'tap'
import { CLIENT_BIN, SERVER_BIN, runCli } from '../helpers/cli.js'

/** The lines of one help section (from its heading to the next blank line). */
const section = (text: string, heading: string): string[] => {
  const lines = text.split('\n')
  const start = lines.indexOf(heading)
  if (start < 0) return []
  const end = lines.indexOf('', start)
  return lines.slice(start + 1, end < 0 ? undefined : end)
}

t.test('help is wrapped to $COLUMNS, shows examples and exit codes', async t => {
  for (const bin of [SERVER_BIN, CLIENT_BIN]) {
    const narrow = await runCli(bin, ['--help'], { env: { COLUMNS: '80' } })
    t.equal(narrow.code, 0)
    const options = section(narrow.stdout, 'Options:')
    t.ok(options.length > 3, 'has options')
    t.same(options.filter(l => l.length > 80), [], `${bin}: option lines fit 80 columns`)
    const exitCodes = narrow.stdout.slice(narrow.stdout.indexOf('Exit codes:'))
    t.ok(exitCodes.length > 20, 'lists exit codes')
    t.same(exitCodes.split('\n').filter(l => l.length > 80), [], 'the prose is re-flowed too')
    t.match(narrow.stdout, /^Examples:$/m)
    const wide = await runCli(bin, ['--help'], { env: { COLUMNS: '160' } })
    t.ok(section(wide.stdout, 'Options:').some(l => l.length > 80), `${bin}: a wide terminal gets long lines`)
    t.ok(section(wide.stdout, 'Options:').length < options.length, 'and fewer of them')
  }
})

t.test('claudette-server run --help lists the server options', async t => {
  const run = await runCli(SERVER_BIN, ['run', '--help'])
  t.equal(run.code, 0)
  const global = section(run.stdout, 'Global Options:').join('\n')
  for (const o of ['--home', '--config', '--port', '--bind', '--name', '--no-mdns', '--log-level', '--pairing-ttl', '--max-connections']) {
    t.match(global, o, `run --help lists ${o}`)
  }
  for (const [cmd, flag] of [['regenerate-token', '--yes'], ['rotate-certificate', '--yes'], ['sessions revoke', '--all']] as const) {
    const h = await runCli(SERVER_BIN, [...cmd.split(' '), '--help'])
    t.match(h.stdout, flag, `${cmd} --help has ${flag}`)
  }
})
