// The only module that imports tsyringe. reflect-metadata must be evaluated first:
// tsyringe throws at import time without a Reflect polyfill, and ESM evaluates
// imports in source order.
import 'reflect-metadata'
export { container as rootContainer, injectable, inject } from 'tsyringe'
export type { DependencyContainer } from 'tsyringe'

/**
 * A typed DI token: the symbol carries the type of what it resolves to. Declared here, with the
 * container, so the interfaces tokens are typed by can name it without importing tokens.ts.
 */
export type Token<T> = symbol & { readonly __type?: T }
