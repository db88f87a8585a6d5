// What the client CLI needs from beneath the SDK, in one small module: bin/ stays on the
// SDK's surface without loading src/client/index.ts, which would load the mDNS stack for every
// command (bin/claudette.ts loads `nearby` only for `nearby` and `pair --nearby`).
export { AppError } from '../core/errors.js'
export { escapeControls, escapeControlsInJson } from '../core/text.js'
export { VERSION } from '../core/version.js'
