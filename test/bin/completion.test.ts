// Shell completion of both CLIs, generated from their commander programs: the bash script is
// sourced in a real bash and driven through COMP_WORDS/COMP_CWORD (the way readline calls it);
// the fish script answers `complete -C` in a real fish; zsh and fish scripts pass their shells'
// syntax check. The CLIs are put first in PATH under their own names, as an install would.
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { CLIENT_BIN, SERVER_BIN, runCli } from '../helpers/cli.js'
import { tempHome, type TestContext } from '../helpers/server.js'

const has = (shell: string): boolean => spawnSync(shell, ['-c', 'true']).status === 0
const FINGERPRINT = 'ab'.repeat(32)

function setup (t: TestContext): { env: NodeJS.ProcessEnv, clientHome: string } {
  const dir = tempHome(t)
  const bin = join(dir, 'bin')
  mkdirSync(bin)
  for (const [name, target] of [['claudette', CLIENT_BIN], ['claudette-server', SERVER_BIN]] as const) {
    writeFileSync(join(bin, name), `#!/bin/sh\nexec '${process.execPath}' '${target}' "$@"\n`)
    chmodSync(join(bin, name), 0o755)
  }
  // A trust store with two servers, one with a space in its name.
  const clientHome = join(dir, 'client')
  mkdirSync(clientHome, { mode: 0o700 })
  const entry = (id: string, name: string) => ({ id, name, host: '127.0.0.1', port: 1, fingerprint: FINGERPRINT, session_token: 'x', server_name: name, paired_at: '' })
  writeFileSync(join(clientHome, 'servers.json'), JSON.stringify({ version: 1, servers: [entry('aaaaaaaaaaaa', 'work laptop'), entry('bbbbbbbbbbbb', 'nas')] }), { mode: 0o600 })
  return { env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, HOME: dir }, clientHome }
}

t.test('bash: commands, subcommands, options, choices and stored server names', async t => {
  const { env, clientHome } = setup(t)
  const script = (await runCli(CLIENT_BIN, ['completion', 'bash'])).stdout
  const serverScript = (await runCli(SERVER_BIN, ['completion', 'bash'])).stdout
  // Each case: the words typed so far (the last one is being completed) → the offered words.
  const cases: Array<[string, string[]]> = [
    ['claudette ', ['pair', 'list', 'nearby', 'call', 'term', 'forget', 'repos', 'workspaces', 'methods', 'completion', 'help']],
    ['claudette wo', ['workspaces']],
    ['claudette term --w', ['--workspace']],
    ['claudette forget -', ['--no-revoke', '--yes', '-y', '--help', '-h']],
    [`claudette --home ${clientHome} term `, ['work\\ laptop', 'nas']],
    [`claudette --home ${clientHome} call n`, ['nas']],
    [`claudette --home ${clientHome} term nas --cwd `, []],
    ['claudette workspaces box ', ['list', 'create', 'archive', 'restore']],
    ['claudette workspaces box cr', ['create']],
    ['claudette completion ', ['bash', 'zsh', 'fish']],
    ['claudette help te', ['term']],
    ['claudette-server ', ['run', 'show-connection-string', 'qr', 'rotate-certificate', 'regenerate-token', 'sessions', 'repo', 'config', 'status', 'service', 'completion', 'help']],
    ['claudette-server sessions ', ['list', 'revoke', 'help']],
    ['claudette-server sessions revoke --', ['--all', '--yes', '--help']],
    ['claudette-server --log-level ', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']],
    ['claudette-server --home /x repo a', ['add']],
    ['claudette-server --port 0 --log-level warn ', ['run', 'show-connection-string', 'qr', 'rotate-certificate', 'regenerate-token', 'sessions', 'repo', 'config', 'status', 'service', 'completion', 'help']],
  ]
  const driver = [
    script,
    serverScript,
    'complete -p claudette; complete -p claudette-server',
    // Split like readline (spaces; a trailing space starts an empty word), then call the function bash registered.
    'drive () { local line=$1 fn; read -ra COMP_WORDS <<< "$line"; [[ $line == *" " ]] && COMP_WORDS+=(""); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); fn=$(complete -p "${COMP_WORDS[0]}" | sed -E "s/.*-F ([^ ]+) .*/\\1/"); "$fn"; printf "%s\\n" "${COMPREPLY[@]}" | paste -sd "|" -; }',
    ...cases.map(([line]) => `drive ${JSON.stringify(line)}`),
  ].join('\n')
  const outLines = execFileSync('bash', ['--norc', '--noprofile', '-c', driver], { env, encoding: 'utf8' }).split('\n')
  t.equal(outLines[0], 'complete -o default -F _claudette claudette')
  t.equal(outLines[1], 'complete -o default -F _claudette_server claudette-server')
  for (const [i, [line, want]] of cases.entries()) {
    const got = outLines[i + 2]!.split('|').filter(Boolean)
    t.same(got, want, JSON.stringify(line))
  }
})

t.test('zsh: the script passes zsh -n and registers through bashcompinit', { skip: has('zsh') ? false : 'zsh is not installed (apt-get install zsh)' }, async t => {
  const { env, clientHome } = setup(t)
  for (const bin of [CLIENT_BIN, SERVER_BIN]) {
    const script = (await runCli(bin, ['completion', 'zsh'])).stdout
    const file = join(tempHome(t), 'completion.zsh')
    writeFileSync(file, script)
    const check = spawnSync('zsh', ['-n', file], { encoding: 'utf8' })
    t.equal(check.status, 0, `zsh -n ${bin}: ${check.stderr}`)
    // Sourced in a non-interactive zsh: compinit and bashcompinit load, and the completer is bound.
    const name = bin === CLIENT_BIN ? 'claudette' : 'claudette-server'
    const bound = spawnSync('zsh', ['-f', '-c', `source ${file} && print -r -- "$_comps[${name}]"`], { env, encoding: 'utf8' })
    t.equal(bound.status, 0, bound.stderr)
    t.match(bound.stdout, /_bash_complete/, `${name} is bound to its bash completer`)
  }
  // A real completion in zsh, called the way bashcompinit's _bash_complete calls it (ksharrays,
  // COMP_WORDS/COMP_CWORD set): the stored names come back quoted. This fails if the script
  // clobbers zsh's own variables (a local `path` empties PATH) or relies on bash's word
  // splitting of an unquoted expansion.
  const script = (await runCli(CLIENT_BIN, ['completion', 'zsh'])).stdout
  const file = join(tempHome(t), 'claudette.zsh')
  writeFileSync(file, script)
  const drive = (line: string): string[] => {
    const words = line.split(' ')
    const zsh = `source ${file} && setopt ksharrays && COMP_WORDS=(${words.map(w => `'${w}'`).join(' ')}) && COMP_CWORD=${words.length - 1} && _claudette && print -rl -- "\${COMPREPLY[@]}"`
    return execFileSync('zsh', ['-f', '-c', zsh], { env, encoding: 'utf8' }).split('\n').filter(Boolean)
  }
  // (zsh itself narrows the words to the typed prefix, so they come back whole.)
  t.same(drive(`claudette --home ${clientHome} term `).sort(), ['nas', 'work\\ laptop'], 'zsh: stored server names')
  t.same(drive(`claudette --home ${clientHome} term n`), ['nas'], 'zsh: names by prefix')
  t.same(drive('claudette workspaces box cr'), ['list', 'create', 'archive', 'restore'], 'zsh: subcommand words')
})

t.test('completing server names creates nothing, whatever --home word is on the line', async t => {
  const { env } = setup(t)
  const cwd = tempHome(t)
  for (const home of ['$HOME/typo', '"/tmp/x y"', join(cwd, 'missing')]) {
    const r = spawnSync(process.execPath, [CLIENT_BIN, '--home', home, '__complete', 'servers'], { env, cwd, encoding: 'utf8' })
    t.equal(r.status, 0, r.stderr)
    t.equal(r.stdout, '', `no names for ${home}`)
  }
  t.same(readdirSync(cwd), [], 'no directory was made')
})

t.test('fish: the script passes fish -n and answers complete -C', { skip: has('fish') ? false : 'fish is not installed (apt-get install fish)' }, async t => {
  const { env, clientHome } = setup(t)
  const script = (await runCli(CLIENT_BIN, ['completion', 'fish'])).stdout
  const file = join(tempHome(t), 'claudette.fish')
  writeFileSync(file, script)
  const check = spawnSync('fish', ['-n', file], { encoding: 'utf8' })
  t.equal(check.status, 0, check.stderr)
  const ask = (line: string): string[] => execFileSync('fish', ['--no-config', '-c', `source ${file}; complete -C ${JSON.stringify(line).replace(/\$/g, '\\$')}`], { env, encoding: 'utf8' })
    .split('\n').filter(Boolean).map(l => l.split('\t')[0]!)
  t.same(ask('claudette te'), ['term'])
  t.same(ask(`claudette --home ${clientHome} term `).sort(), ['nas', 'work laptop'])
  t.same(ask('claudette workspaces box ').sort(), ['archive', 'create', 'list', 'restore'])
  t.same(ask('claudette term --wo'), ['--workspace'])
  const serverScript = (await runCli(SERVER_BIN, ['completion', 'fish'])).stdout
  const serverFile = join(tempHome(t), 'claudette-server.fish')
  writeFileSync(serverFile, serverScript)
  const serverCheck = spawnSync('fish', ['-n', serverFile], { encoding: 'utf8' })
  t.equal(serverCheck.status, 0, `the server CLI's script too: ${serverCheck.stderr}`)
})

t.test('completion rejects an unknown shell', async t => {
  const r = await runCli(CLIENT_BIN, ['completion', 'tcsh'])
  t.equal(r.code, 2)
  t.match(r.stderr, /Allowed choices are bash, zsh, fish/)
})
