// The host the connection string gives out: checked the same way for the option, the CLI flag and
// server.toml; default the bind address when specific, else the host name.
import { writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createServer, openAdmin, parseConnectionString } from '../../src/index.js'
import { connectHostProblem, defaultConnectHost, formatConnectionString } from '../../src/core/connect-host.js'
import { pairingToken, startServer, tempHome } from '../helpers/server.js'

t.test('connectHostProblem accepts hosts and addresses, names what is wrong otherwise', async t => {
  for (const ok of ['build', 'build.example.com', 'build.local.', 'my_host', '10.0.0.5', '::1', '[::1]', 'fe80::1', '[2001:db8::7]']) {
    t.equal(connectHostProblem(ok), null, ok)
  }
  const bad: Array<[string, RegExp]> = [
    ['', /empty/], ['https://build', /scheme/], ['build/x', /path/], ['a b', /spaces/], ['bu\u0007ild', /control/],
    ['user@build', /user/], ['build:7683', /without a port/], ['[::1]:7683', /without a port/], ['[build]', /without a port|IPv6/],
    ['-build', /host name/], ['bu!ld', /host name/], ['a'.repeat(64) + '.com', /host name/],
    ['192.168.1.300', /not a valid IPv4 address/], ['10.0.0', /not a valid IPv4 address/],
  ]
  for (const [value, re] of bad) t.match(connectHostProblem(value), re, JSON.stringify(value))
})

t.test('default: the bind address when specific, else the host name; IPv6 in brackets', async t => {
  t.equal(defaultConnectHost('0.0.0.0'), hostname())
  t.equal(defaultConnectHost('::'), hostname())
  t.equal(defaultConnectHost(''), hostname())
  t.equal(defaultConnectHost('192.168.1.20'), '192.168.1.20')
  t.equal(defaultConnectHost('[::1]'), '::1')
  t.equal(formatConnectionString('::1', 7683, 'tok'), 'claudette://[::1]:7683/tok')
  t.equal(parseConnectionString(formatConnectionString('fe80::1', 1, 'tok')).host, 'fe80::1')
})

t.test('createServer: the bind address by default, the option when given', async t => {
  const bound = await startServer(t, { connectHost: undefined })
  t.equal(bound.connectionString, `claudette://127.0.0.1:${bound.port}/${pairingToken(bound)}`, 'bound to 127.0.0.1: that is the host')
  const named = await startServer(t, { connectHost: 'build.example.com' })
  t.equal(parseConnectionString(named.connectionString).host, 'build.example.com')
  const v6 = await startServer(t, { connectHost: '[::1]' })
  t.match(v6.connectionString, /^claudette:\/\/\[::1\]:\d+\//)
  for (const connectHost of ['https://x', 'x/y', 'x:1', 'a b']) {
    await t.rejects(createServer({ home: tempHome(t), mdns: false, logLevel: 'silent', connectHost }), { code: 'ERR_CONFIG_INVALID', message: /^invalid server option connectHost / }, connectHost)
  }
})

t.test('server.toml [server] connect_host: used by the server and the offline admin; checked', async t => {
  const home = tempHome(t)
  const admin0 = await openAdmin({ home })
  const token = (await admin0.config()).auth.pairing_token
  admin0.close()
  const toml = (extra: string): void => writeFileSync(join(home, 'server.toml'), `[server]\nname = "x"\nport = 7700\nbind = "0.0.0.0"\n${extra}\n[auth]\npairing_token = "${token}"\n`)
  toml('connect_host = "box.lan"')
  const admin = await openAdmin({ home })
  t.teardown(() => admin.close())
  t.same(await admin.connection(), { connectionString: `claudette://box.lan:7700/${token}`, running: false })
  const withFlag = await openAdmin({ home, connectHost: '10.1.2.3' })
  t.equal(await withFlag.connectionString(), `claudette://10.1.2.3:7700/${token}`, 'the flag wins over the file')
  withFlag.close()
  const server = await startServer(t, { home, connectHost: undefined, bind: '127.0.0.1' })
  t.equal(parseConnectionString(server.connectionString).host, 'box.lan', 'the file wins over the bind address')
  await server.close()
  toml('connect_host = "http://box.lan"')
  await t.rejects(createServer({ home, mdns: false, logLevel: 'silent' }), { code: 'ERR_CONFIG_FILE', message: /\[server\] connect_host must be a host name or IP address, without a scheme, port or path .*\(line 5\)/ })
  toml('connect_host = 5')
  await t.rejects(createServer({ home, mdns: false, logLevel: 'silent' }), { code: 'ERR_CONFIG_FILE', message: /\[server\] connect_host must be a host name or IP address.*\(line 5\)/ })
})
