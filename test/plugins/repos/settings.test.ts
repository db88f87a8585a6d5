// get_app_setting / set_app_setting: string values, protected keys not writable over the wire.
import { realpathSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { errorOf, setup, tempDir } from './_helpers.js'

t.test('settings round-trip; worktree_base_dir is read-only over the wire', async t => {
  const base = tempDir(t)
  const { client } = await setup(t, { repos: { worktreeBaseDir: join(base, 'trees') } })
  t.equal(await client.call('get_app_setting', { key: 'theme' }), null)
  t.equal(await client.call('set_app_setting', { key: 'theme', value: 'dark' }), null)
  t.equal(await client.call('get_app_setting', { key: 'theme' }), 'dark')
  await client.call('set_app_setting', { key: 'theme', value: '' })
  t.equal(await client.call('get_app_setting', { key: 'theme' }), '')
  t.equal(await client.call('get_app_setting', {}), null)

  const effective = realpathSync(join(base, 'trees'))
  t.equal(await client.call('get_app_setting', { key: 'worktree_base_dir' }), effective)
  t.equal(await errorOf(client, 'set_app_setting', { key: 'worktree_base_dir', value: '/etc' }),
    "Setting 'worktree_base_dir' cannot be changed by clients; set it with the server's --worktree-base-dir flag or worktree_base_dir in server.toml")
  t.equal(await client.call('get_app_setting', { key: 'worktree_base_dir' }), effective, 'unchanged')
  t.equal((await client.call('load_initial_data')).worktree_base_dir, effective)

  t.match(await errorOf(client, 'set_app_setting', { key: 'theme', value: 42 }), /^Invalid parameter 'value'/)
  t.equal(await errorOf(client, 'set_app_setting', { key: '', value: 'x' }), 'Invalid setting key')
  t.equal(await errorOf(client, 'set_app_setting', { key: 'a\nb', value: 'x' }), 'Invalid setting key')
  t.equal(await errorOf(client, 'set_app_setting', { key: 'big', value: 'x'.repeat(64 * 1024 + 1) }), 'Setting value too large (at most 65536 characters)')
})
