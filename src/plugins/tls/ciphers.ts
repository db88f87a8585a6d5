// The protocol versions and cipher suites the server offers. TLS 1.2 is limited to ECDHE key
// exchange with AEAD ciphers: static-RSA suites give no forward secrecy (a later leak of
// key.pem would decrypt recorded sessions and the tokens in them), and CBC suites are not
// AEAD. Both key types are listed, for operators who bring an ECDSA key. rustls (the Claudette
// apps) supports exactly these six TLS 1.2 suites, so every client we know still connects.
const TLS12_SUITES = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
]

// Node's default TLS 1.3 suites, named explicitly: Node splits `ciphers` into TLS 1.3 suites
// (`TLS_*`) and the rest, and a list without any `TLS_*` name turns TLS 1.3 off. Named here
// rather than read from tls.DEFAULT_CIPHERS, which `--tls-cipher-list` can change.
const TLS13_SUITES = ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256']

/** Options for every secure context the server builds (at start and on certificate rotation). */
export const TLS_PROTOCOL_OPTIONS = {
  minVersion: 'TLSv1.2',
  ciphers: [...TLS13_SUITES, ...TLS12_SUITES].join(':'),
} as const
