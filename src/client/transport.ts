import { createHash } from 'node:crypto'
import { isIP } from 'node:net'
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls'
import WebSocket from 'ws'
import { fingerprintMatches, formatHostPort } from './connection-string.js'
import { ConnectError, FingerprintMismatchError } from './errors.js'

/** The reference client accepts messages up to 64 MiB. */
const MAX_PAYLOAD = 64 * 1024 * 1024

export interface OpenSocketOptions {
  host: string
  port: number
  /** Full fingerprint or a prefix of 16+ hex characters; undefined accepts any certificate (TOFU). */
  expectedFingerprint?: string
  /** Text of the hint in a FingerprintMismatchError (how to re-pin). */
  mismatchHint?: string
  /** Used in messages ("work-laptop (10.0.0.2:7683)"). */
  label?: string
  /** TLS + WebSocket handshake deadline. */
  timeoutMs: number
}

export interface OpenedSocket {
  ws: WebSocket
  /** SHA-256 of the leaf certificate the server presented in this handshake. */
  fingerprint: string
}

/**
 * Opens a TLS WebSocket to a Claudette server and checks the certificate pin inside the TLS
 * handshake. Chain validation is off (servers use self-signed certificates), but OpenSSL still
 * verifies the handshake signature (TLS 1.3 CertificateVerify / TLS 1.2 ServerKeyExchange)
 * against the presented certificate's key, so a peer that replays the real certificate without
 * its private key cannot finish the handshake (test/client/key-swap.test.ts proves it). The
 * fingerprint is compared on `secureConnect`, before the WebSocket upgrade and long before any
 * token is sent; a mismatch destroys the socket.
 */
export function openSocket (opts: OpenSocketOptions): Promise<OpenedSocket> {
  const label = opts.label ?? formatHostPort(opts.host, opts.port)
  return new Promise((resolve, reject) => {
    let seen: string | null = null
    let pinError: Error | null = null
    const ws = new WebSocket(`wss://${formatHostPort(opts.host, opts.port)}/`, {
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      handshakeTimeout: opts.timeoutMs,
      maxPayload: MAX_PAYLOAD,
      perMessageDeflate: false,
      followRedirects: false,
      createConnection: ((o: ConnectionOptions) => {
        const sock: TLSSocket = tlsConnect({ ...o, servername: isIP(opts.host) ? undefined : opts.host })
        sock.once('secureConnect', () => {
          const raw = sock.getPeerCertificate()?.raw
          if (!raw) { pinError = new ConnectError(label, 'the server presented no certificate'); sock.destroy(pinError); return }
          seen = createHash('sha256').update(raw).digest('hex')
          if (opts.expectedFingerprint !== undefined && !fingerprintMatches(opts.expectedFingerprint, seen)) {
            pinError = new FingerprintMismatchError(opts.expectedFingerprint, seen, label, opts.mismatchHint)
            sock.destroy(pinError)
          }
        })
        return sock
      }) as never,
    })
    const onError = (err: Error): void => {
      cleanup()
      ws.terminate()
      if (pinError) { reject(pinError); return }
      reject(new ConnectError(label, describeNetError(err), { cause: err }))
    }
    const onUnexpected = (_req: unknown, res: { statusCode?: number }): void => {
      onError(new Error(`unexpected HTTP status ${res.statusCode ?? '?'} (not a Claudette server?)`))
    }
    const onOpen = (): void => {
      cleanup()
      if (seen === null || pinError) { ws.terminate(); reject(pinError ?? new ConnectError(label, 'TLS handshake not verified')); return }
      resolve({ ws, fingerprint: seen })
    }
    const cleanup = (): void => {
      ws.off('error', onError)
      ws.off('open', onOpen)
      ws.off('unexpected-response', onUnexpected)
    }
    ws.on('error', onError)
    ws.on('open', onOpen)
    ws.on('unexpected-response', onUnexpected)
  })
}

function describeNetError (err: Error): string {
  const e = err as NodeJS.ErrnoException
  switch (e.code) {
    case 'ECONNREFUSED': return 'connection refused (is claudette-server running?)'
    case 'ENOTFOUND': case 'EAI_AGAIN': return `host not found (${e.message})`
    case 'ETIMEDOUT': return 'timed out'
    case 'EHOSTUNREACH': case 'ENETUNREACH': return 'host unreachable'
    case 'ECONNRESET': return 'connection reset during the handshake'
  }
  if (/handshake has timed out|Opening handshake/i.test(e.message)) return 'timed out during the handshake'
  if (e.code?.startsWith('ERR_SSL') || /SSL|TLS|alert|signature/i.test(e.message)) return `TLS handshake failed (${e.message})`
  return e.message
}
