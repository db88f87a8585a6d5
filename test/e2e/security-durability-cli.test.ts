// Durability of the CLI's writes: SIGKILL `regenerate-token` at points spread over its run
// (reading, writing and renaming server.toml, clearing sessions); the config must always
// parse, hold a valid token, and the server must start on the home afterwards.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import t from 'tap'
import { configFile } from '../../src/plugins/store/index.js'
import { tempHome } from '../helpers/server.js'
import { CLI, runCli, spawnServer } from './security-support.js'
import { elapse } from '../helpers/wait.js'

t.test('SIGKILL of `regenerate-token` mid-write leaves a config that parses', async t => {
  const home = tempHome(t)
  // One full run tells how long the CLI takes here; the kills then land across its last half,
  // where it reads, writes and renames server.toml and clears the sessions.
  const t0 = Date.now()
  t.equal((await runCli(['--home', home, 'regenerate-token'])).code, 0)
  const full = Date.now() - t0
  for (let i = 0; i < 4; i++) {
    const child = spawn(process.execPath, [CLI, '--home', home, 'regenerate-token'], { stdio: 'ignore' })
    const exited = new Promise(resolve => child.once('exit', resolve)) // may exit before the kill
    await elapse(Math.floor(full * (0.55 + 0.15 * i)), 'the kill lands at a chosen point of the run: the CLI reports no progress to wait on')
    child.kill('SIGKILL')
    await exited
    // Read with the server's own parser (strict: a torn file is ERR_CONFIG_FILE).
    const cfg = await configFile(join(home, 'server.toml')).read()
    t.match(cfg.auth.pairing_token, /^[A-Za-z0-9_-]{43}$/, `after kill ${i + 1}: the config parses`)
  }
  const proc = await spawnServer(t, home)
  t.ok(proc.port > 0, 'the server starts')
})
