import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { inlineCompletionMiddleware } from '../src/middleware';

const token = (cancelled = false) => ({ isCancellationRequested: cancelled });

describe('inlineCompletionMiddleware', () => {
  it('asks nothing of the server while completions are disabled', async () => {
    let calls = 0;
    const middleware = inlineCompletionMiddleware({ enabled: () => false, onLatency: () => assert.fail('no latency') });
    const result = await middleware('doc', 'pos', 'ctx', token(), () => {
      calls += 1;
      return ['item'];
    });
    assert.equal(result, null);
    assert.equal(calls, 0);
  });

  it('passes the request through and reports its round trip', async () => {
    const clock = [100, 142];
    const latencies: number[] = [];
    const middleware = inlineCompletionMiddleware({ enabled: () => true, onLatency: (ms) => latencies.push(ms), now: () => clock.shift() ?? 0 });
    const result = await middleware('doc', 'pos', 'ctx', token(), async (d, p, c) => [`${d}/${p}/${c}`]);
    assert.deepEqual(result, ['doc/pos/ctx']);
    assert.deepEqual(latencies, [42]);
  });

  it('does not report a request the editor cancelled', async () => {
    const latencies: number[] = [];
    const middleware = inlineCompletionMiddleware({ enabled: () => true, onLatency: (ms) => latencies.push(ms) });
    await middleware('doc', 'pos', 'ctx', token(true), async () => null);
    assert.deepEqual(latencies, []);
  });
});
