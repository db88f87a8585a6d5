// What a Claudette app's decoding of the compatible pty-output encoding costs, on one core: one
// 64 KiB chunk of terminal text as `{"event":"pty-output","payload":{"data":[…],"pty_id":1}}`,
// parsed as the apps do (JSON.parse, then the array of byte values into bytes). This bounds the
// JSON path's throughput from the client side, whatever the server does.
//   node bench/terminals/json-decode.mjs
const line = 'claudette terminal benchmark 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJK\n'
const chunk = Buffer.from(line.repeat(Math.ceil(65536 / line.length)).slice(0, 65536))
const frame = Buffer.from(JSON.stringify({ event: 'pty-output', payload: { data: [...chunk], pty_id: 1 } }))
const decode = () => Uint8Array.from(JSON.parse(frame.toString('utf8')).payload.data)
for (let i = 0; i < 50; i++) decode() // warm up
const N = 300
const t0 = performance.now()
for (let i = 0; i < N; i++) decode()
const ms = (performance.now() - t0) / N
console.log(`JSON pty-output decode: ${frame.length} wire bytes per 64 KiB chunk, ${ms.toFixed(2)} ms each => at most ${(64 / 1024 / (ms / 1000)).toFixed(1)} MiB/s on one core`)
