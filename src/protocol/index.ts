// The wire protocol in one place: TypeBox schemas of every method's params and result and of
// every event's payload. The server validates with them, the client SDK types its calls with
// them, and docs/protocol.md is generated from them (tools/protocol-doc.ts).
export * from './common.js'
export * from './core.js'
export * from './auth.js'
export * from './repos.js'
export * from './agents.js'
export * from './terminals.js'
export * from './events.js'
export * from './methods.js'
