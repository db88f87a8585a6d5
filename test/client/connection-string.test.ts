// The one connection-string parser: the reference desktop's accepted forms, the mobile client's
// stricter rejections, and clear messages for everything else.
import t from 'tap'
import { formatConnectionString, normalizeFingerprint, parseConnectionString, ConnectionStringError } from '../../src/index.js'

const TOKEN = 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde'

t.test('accepted forms', async t => {
  t.same(parseConnectionString(`claudette://work-laptop:7683/${TOKEN}`), { host: 'work-laptop', port: 7683, token: TOKEN })
  t.same(parseConnectionString(`  claudette://box.local/${TOKEN}\n`), { host: 'box.local', port: 7683, token: TOKEN }, 'trimmed; port defaults to 7683')
  t.same(parseConnectionString(`claudette://10.0.0.2:9000/${TOKEN}`), { host: '10.0.0.2', port: 9000, token: TOKEN })
  t.same(parseConnectionString(`claudette://[::1]:7684/${TOKEN}`), { host: '::1', port: 7684, token: TOKEN }, 'bracketed IPv6 with port')
  t.same(parseConnectionString(`claudette://[fe80::1]/${TOKEN}`), { host: 'fe80::1', port: 7683, token: TOKEN }, 'bracketed IPv6 without port')
  t.same(parseConnectionString('claudette://h:1/a?b#c'), { host: 'h', port: 1, token: 'a?b#c' }, 'token taken verbatim after the first slash')
  for (const s of [`claudette://work-laptop:7683/${TOKEN}`, `claudette://[::1]:7684/${TOKEN}`]) {
    t.equal(formatConnectionString(parseConnectionString(s)), s, `round trip ${s}`)
  }
})

t.test('rejected forms, with the reference messages where there is one', async t => {
  const cases: Array<[string, RegExp]> = [
    ['', /^Invalid connection string — must start with claudette:\/\/$/],
    [`Claudette://h/${TOKEN}`, /must start with claudette:\/\//],
    [`https://h/${TOKEN}`, /must start with claudette:\/\//],
    ['claudette://host:7683', /^Invalid connection string — missing token$/],
    ['claudette://host:7683/', /pairing token is empty/],
    ['claudette://host:7683/a/b', /pairing token must not contain '\/'/],
    ['claudette://host:7683/a b', /whitespace/],
    [`claudette://:7683/${TOKEN}`, /host is empty/],
    [`claudette:///${TOKEN}`, /host is empty/],
    [`claudette://host:/${TOKEN}`, /^Invalid port number '' /],
    [`claudette://host:0/${TOKEN}`, /^Invalid port number '0'/],
    [`claudette://host:65536/${TOKEN}`, /^Invalid port number '65536'/],
    [`claudette://host:76x3/${TOKEN}`, /^Invalid port number '76x3'/],
    [`claudette://host:-1/${TOKEN}`, /^Invalid port number/],
    [`claudette://::1:7683/${TOKEN}`, /IPv6 address needs brackets/],
    [`claudette://[::1/${TOKEN}`, /missing '\]'/],
    [`claudette://[::1]x/${TOKEN}`, /unexpected 'x'/],
    [`claudette://[nothost]:1/${TOKEN}`, /not an IPv6 address/],
    [`claudette://us@er:1/${TOKEN}`, /invalid host/],
    [`claudette://h/${'x'.repeat(5000)}`, /longer than 4096/],
  ]
  for (const [input, msg] of cases) {
    t.throws(() => parseConnectionString(input), { constructor: ConnectionStringError, code: 'ERR_CONFIG_CONNECTION_STRING', message: msg }, JSON.stringify(input.slice(0, 40)))
  }
  t.throws(() => parseConnectionString(42 as never), { message: /expected a string/ })
})

t.test('expected fingerprints: full, 16+ prefix, colons and case ignored', async t => {
  const fp = 'ab'.repeat(32)
  t.equal(normalizeFingerprint(fp.toUpperCase()), fp)
  t.equal(normalizeFingerprint(fp.match(/../g)!.join(':')), fp)
  t.equal(normalizeFingerprint(' ' + fp.slice(0, 16) + ' '), fp.slice(0, 16))
  for (const bad of ['', 'abc', fp.slice(0, 15), fp + 'a', 'zz'.repeat(10)]) {
    t.throws(() => normalizeFingerprint(bad), { code: 'ERR_CONFIG_FINGERPRINT' }, JSON.stringify(bad))
  }
})
