// The client SDK: connection strings, the trust store, pairing and the reconnecting client.
export {
  ClaudetteClient, backoffDelay,
  type AttachResult, type BackoffOptions, type ClaudetteMethods, type ClientEvent, type ClientOptions, type ClientState,
  type PtyExit, type PtyInfo, type RequestOptions, type ServerInfo, type SessionInfo, type StateChange,
} from './client.js'
// The wire protocol's types (the client's typed calls use them). Types only: the SDK loads no
// schema library; the schemas themselves are exported by the package root as `protocol`.
export type { EventMap, EventName, MethodMap, MethodName, MethodParams, MethodResult } from '../protocol/index.js'
export {
  DEFAULT_PORT, MIN_FINGERPRINT_PREFIX, fingerprintMatches, formatConnectionString, formatHostPort,
  normalizeFingerprint, parseConnectionString, type ConnectionInfo,
} from './connection-string.js'
export {
  ClientSdkError, ConnectError, ConnectionClosedError, ConnectionStringError, FingerprintFormatError,
  FingerprintMismatchError, NearbyFingerprintError, NearbyNotFoundError, PairingRefusedError, RemoteError,
  RequestTimeoutError, ServerNotFoundError, SessionRevokedError, TrustStoreError, changedCertificateHint, type RemoteErrorBody,
} from './errors.js'
export {
  NearbyBrowser, NearbyInterfaceError, NearbySocketError, SERVICE_TYPE as NEARBY_SERVICE_TYPE, browse, browseNearby, decodeTxt, findNearby,
  type NearbyBrowserOptions, type NearbyChange, type NearbyServer,
} from './nearby.js'
export { pair, type PairOptions, type PairResult } from './pair.js'
export { ReplayDeduper } from './replay.js'
export { openSocket, type OpenSocketOptions, type OpenedSocket } from './transport.js'
export { TRUST_FILE, TrustStore, redactServer, resolveClientHome, type TrustedServer, type TrustedServerInfo } from './trust-store.js'
export { probeServer, type ServerStatus } from './status.js'
export { DEFAULT_DETACH_KEY, exitCodeOf, parseDetachKey, runTerminal, type TerminalOptions, type TerminalOutcome } from './terminal.js'
export { AppError, VERSION } from './cli-support.js'
