import { isIP } from 'node:net'
import { ConnectionStringError, FingerprintFormatError } from './errors.js'

/** The reference default port, used when a connection string has none. */
export const DEFAULT_PORT = 7683
const PREFIX = 'claudette://'
const MAX_LENGTH = 4096

/** What a connection string carries. `host` has no brackets (an IPv6 literal is `::1`). */
export interface ConnectionInfo {
  host: string
  port: number
  /** The pairing token. Secret: never log or print it. */
  token: string
}

const fail = (why: string): never => { throw new ConnectionStringError(`Invalid connection string — ${why}`) }

/**
 * Parses `claudette://<host>[:<port>]/<pairing token>`: the one parser every part of the client
 * uses. It accepts every string the reference desktop client accepts for a valid server (the
 * input is trimmed; the port defaults to 7683; `[::1]:7683` is an IPv6 host) and, like the
 * reference mobile client, rejects an empty token or a token containing `/`. It also rejects
 * what the desktop would mis-handle: an empty host, port 0, and a bare IPv6 address without brackets.
 *
 * Messages start with the reference texts (`Invalid connection string — must start with
 * claudette://`, `… missing token`, `Invalid port number`).
 */
export function parseConnectionString (input: string): ConnectionInfo {
  if (typeof input !== 'string') fail('expected a string')
  const text = input.trim()
  if (text.length > MAX_LENGTH) fail(`longer than ${MAX_LENGTH} characters`)
  if (!text.startsWith(PREFIX)) fail('must start with claudette://')
  const rest = text.slice(PREFIX.length)
  const slash = rest.indexOf('/')
  if (slash < 0) fail('missing token')
  const authority = rest.slice(0, slash)
  const token = rest.slice(slash + 1)
  if (token === '') fail('pairing token is empty')
  if (token.includes('/')) fail("pairing token must not contain '/'")
  if (/[\s\u0000-\u001f\u007f]/.test(token)) fail('pairing token contains whitespace or control characters')

  let host: string
  let portText: string | undefined
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']')
    if (close < 0) fail("missing ']' after the IPv6 address")
    host = authority.slice(1, close)
    const after = authority.slice(close + 1)
    if (after !== '') {
      if (!after.startsWith(':')) fail(`unexpected '${after}' after the IPv6 address`)
      portText = after.slice(1)
    }
    if (isIP(host) !== 6) fail(`'${host}' is not an IPv6 address`)
  } else {
    const colon = authority.lastIndexOf(':')
    if (colon >= 0) {
      host = authority.slice(0, colon)
      portText = authority.slice(colon + 1)
      if (host.includes(':')) fail('an IPv6 address needs brackets, e.g. claudette://[::1]:7683/<token>')
    } else {
      host = authority
    }
  }
  if (host === '') fail('host is empty')
  if (/[\s/\\@?#]/.test(host)) fail(`invalid host '${host}'`)
  let port = DEFAULT_PORT
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      throw new ConnectionStringError(`Invalid port number '${portText}' in connection string (expected 1 to 65535)`)
    }
    port = Number(portText)
  }
  return { host, port, token }
}

/** `host:port` for messages and URLs, with brackets around an IPv6 literal. */
export const formatHostPort = (host: string, port: number): string =>
  `${isIP(host) === 6 ? `[${host}]` : host}:${port}`

/** The inverse of parseConnectionString. */
export const formatConnectionString = (info: ConnectionInfo): string =>
  `${PREFIX}${formatHostPort(info.host, info.port)}/${info.token}`

/** Shortest accepted expected fingerprint: the 16 hex characters mDNS TXT records carry. */
export const MIN_FINGERPRINT_PREFIX = 16

/**
 * Normalises an expected fingerprint: the full 64 hex characters or a prefix of at least 16
 * (mDNS advertises the first 16). Colons and spaces are ignored, case is folded.
 */
export function normalizeFingerprint (input: string): string {
  const hex = String(input).trim().replace(/[:\s]/g, '').toLowerCase()
  if (!/^[0-9a-f]+$/.test(hex) || hex.length < MIN_FINGERPRINT_PREFIX || hex.length > 64) throw new FingerprintFormatError(String(input))
  return hex
}

/** True when `actual` (64 hex) is the expected fingerprint or starts with the expected prefix. */
export const fingerprintMatches = (expected: string, actual: string): boolean =>
  expected.length >= MIN_FINGERPRINT_PREFIX && actual.startsWith(expected)
