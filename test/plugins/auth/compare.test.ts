// safeEqual: constant-time equality, also for different lengths and non-ASCII.
import t from 'tap'
import { safeEqual } from '../../../src/plugins/auth/compare.js'

t.test('safeEqual', async t => {
  t.equal(safeEqual('abc', 'abc'), true)
  t.equal(safeEqual('abc', 'abd'), false)
  t.equal(safeEqual('abc', 'abcd'), false)
  t.equal(safeEqual('', ''), true)
  t.equal(safeEqual('é', 'e'), false)
  t.equal(safeEqual('日本', '日本'), true)
})
