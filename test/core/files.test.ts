// writeFileAtomic: the replacement has the mode asked for and, written by root over another
// user's file, keeps that user as its owner.
import { chownSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { writeFileAtomic } from '../../src/core/files.js'
import { tempHome } from '../helpers/server.js'

t.test('written by root over a file another user owns: the owner stays, the mode is 0600', { skip: process.getuid?.() === 0 ? false : 'needs root (chown)' }, async t => {
  const file = join(tempHome(t), 'server.toml')
  writeFileSync(file, 'old\n', { mode: 0o600 })
  chownSync(file, 65534, 65534)
  await writeFileAtomic(file, 'new\n', 0o600)
  const st = statSync(file)
  t.equal(readFileSync(file, 'utf8'), 'new\n')
  t.equal(st.uid, 65534, 'owner kept')
  t.equal(st.gid, 65534, 'group kept')
  t.equal(st.mode & 0o777, 0o600)
})

t.test('a new file belongs to whoever writes it', async t => {
  const file = join(tempHome(t), 'fresh.toml')
  await writeFileAtomic(file, 'x\n', 0o600)
  t.equal(statSync(file).uid, process.getuid!())
  t.equal(statSync(file).mode & 0o777, 0o600)
})
