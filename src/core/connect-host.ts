// The host a connection string gives out: checked in one place for the option, the CLI flag and
// server.toml, and formatted in one place for the banner, the CLI commands and the control channel.
import { isIP } from 'node:net'
import { hostname } from 'node:os'

/** One DNS name (letters, digits, `-`, `_`, dot-separated labels) or an IPv4 literal. */
const HOST_NAME = /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/

/**
 * Why `value` cannot be the host of a connection string, or null when it can. A host is a DNS
 * name, an IPv4 address, or an IPv6 address (bare or in brackets): no scheme, port, path,
 * user, spaces or control characters.
 */
export function connectHostProblem (value: string): string | null {
  if (value === '') return 'must not be empty'
  if (/[\s\u0000-\u001f\u007f-\u009f]/.test(value)) return 'must not contain spaces or control characters'
  if (value.includes('://')) return 'must be a host only, without a scheme such as https://'
  if (/[/\\?#]/.test(value)) return 'must be a host only, without a path'
  if (value.includes('@')) return 'must be a host only, without a user name'
  const bare = unbracket(value)
  if (bare.includes(':') || value.startsWith('[')) {
    return isIP(bare) === 6 ? null : 'must be a host name or an IP address, without a port (an IPv6 address may be written in brackets)'
  }
  if (isIP(value) === 4) return null
  // Digits and dots only but not an IPv4 address (`192.168.1.300`): a typo, not a host name.
  if (/^[\d.]+$/.test(value)) return 'is not a valid IPv4 address'
  return HOST_NAME.test(value) ? null : 'must be a host name or an IP address (letters, digits, dots and dashes)'
}

/** The host as stored and compared: an IPv6 literal without its brackets. */
export const unbracket = (host: string): string => host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host

/** The host as written in a connection string or URL: an IPv6 literal in brackets. */
export const bracketHost = (host: string): string => isIP(unbracket(host)) === 6 ? `[${unbracket(host)}]` : host

/** True for an address that means "every interface" rather than one specific address. */
export const isWildcardAddress = (address: string): boolean => {
  const bare = unbracket(address.trim())
  return bare === '' || bare === '0.0.0.0' || bare === '::' || bare === '::0' || bare === '0:0:0:0:0:0:0:0'
}

/**
 * The host to give out when none is configured: the bind address when it is one specific
 * address (that is the only one the server answers on), else the machine's host name.
 */
export const defaultConnectHost = (bind: string): string => isWildcardAddress(bind) ? hostname() : unbracket(bind)

/** `claudette://<host>:<port>/<token>` (the format the Claudette apps parse). */
export const formatConnectionString = (host: string, port: number, token: string): string =>
  `claudette://${bracketHost(host)}:${port}/${token}`
