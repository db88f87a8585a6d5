// The only module that imports tsyringe. reflect-metadata must be evaluated first:
// tsyringe throws at import time without a Reflect polyfill, and ESM evaluates
// imports in source order.
import 'reflect-metadata'
export { container as rootContainer, injectable, inject } from 'tsyringe'
export type { DependencyContainer } from 'tsyringe'
