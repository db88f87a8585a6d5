// Preloaded into the measured server by bench/load/load.ts (node --require): samples the
// server's own event-loop delay during the run and writes the percentiles to LOAD_LOOP_DELAY_OUT
// when the process exits. It separates "the server's event loop was blocked" from "the machine's
// CPUs were busy" in the latencies the load generator reports.
'use strict'
const { monitorEventLoopDelay } = require('node:perf_hooks')
const { writeFileSync } = require('node:fs')
const out = process.env.LOAD_LOOP_DELAY_OUT
if (out) {
  const h = monitorEventLoopDelay({ resolution: 5 })
  // Reset when the measured phase starts (SIGUSR2 from the bench), so set-up is not counted.
  process.on('SIGUSR2', () => { h.reset(); h.enable() })
  process.on('exit', () => {
    const ms = n => Math.round(n / 1e4) / 100
    writeFileSync(out, JSON.stringify({ p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), n: h.count }))
  })
}
