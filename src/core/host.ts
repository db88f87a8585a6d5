import { isIP } from 'node:net'

const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/

/**
 * True for an IP literal (v4 or v6, without brackets) or a name that could resolve: dot-separated
 * DNS labels, at most 253 characters, not all digits and dots (`999.1.1.1` is a broken IPv4
 * address, not a host name). Used for `--bind`, `bind` and `connect_host` before anything listens.
 */
export function isHostAddress (value: string): boolean {
  if (isIP(value) !== 0) return true
  const name = value.endsWith('.') ? value.slice(0, -1) : value
  if (name.length === 0 || name.length > 253) return false
  if (/^[\d.]+$/.test(name)) return false
  return name.split('.').every(label => LABEL.test(label))
}
