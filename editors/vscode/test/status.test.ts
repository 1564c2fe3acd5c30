import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { afterProgress, StatusState, statusText, summarizeStats } from '../src/status';

const base: StatusState = { phase: 'starting', model: 'coder-mini' };

describe('afterProgress', () => {
  it('follows the server from starting to ready', () => {
    let state = afterProgress(base, { kind: 'begin', title: 'Mercury', message: 'starting' });
    assert.deepEqual([state.phase, state.message], ['loading', 'starting']);
    state = afterProgress(state, { kind: 'report', message: 'loading model coder-mini', percentage: 40 });
    assert.deepEqual([state.phase, state.message], ['loading', 'loading model coder-mini 40%']);
    state = afterProgress(state, { kind: 'end', message: 'coder-mini ready' });
    assert.equal(state.phase, 'ready');
    assert.equal(state.message, undefined);
  });

  it('marks a failed start with its reason', () => {
    const state = afterProgress(base, { kind: 'end', message: 'could not start the model coder-mini: no weights' });
    assert.equal(state.phase, 'failed');
    assert.match(state.message ?? '', /no weights/);
  });
});

describe('statusText', () => {
  it('shows the model and the last latency when ready', () => {
    const { text, tooltip } = statusText({ ...base, phase: 'ready', lastLatencyMs: 141.6 });
    assert.equal(text, '$(sparkle) coder-mini 142 ms');
    assert.match(tooltip, /Last completion: 142 ms/);
    assert.match(tooltip, /Click to disable/);
  });

  it('shows progress while loading and the state otherwise', () => {
    assert.equal(statusText({ ...base, phase: 'loading', message: 'loading model 40%' }).text,
      '$(loading~spin) coder-mini loading model 40%');
    assert.equal(statusText({ ...base, phase: 'disabled' }).text, '$(circle-slash) coder-mini (disabled)');
    assert.match(statusText({ ...base, phase: 'disabled' }).tooltip, /Click to enable/);
    assert.equal(statusText({ ...base, model: '' }).text, '$(loading~spin) default model starting');
  });

  it('puts the server counters in the tooltip', () => {
    const { tooltip } = statusText({ ...base, phase: 'ready', stats: { offered: 10, accepted: 3, acceptanceRate: 0.3, p50Ms: 95.2, p95Ms: 310 } });
    assert.match(tooltip, /Shown 10, accepted 3 \(30%\)/);
    assert.match(tooltip, /Latency p50 95 ms, p95 310 ms/);
  });
});

describe('summarizeStats', () => {
  it("reads mercury-lsp's mercury/stats answer", () => {
    const raw = {
      counts: { accepted: 1, accepted_chars: 5, engine_calls: 1, offered: 2, requests: 4 },
      acceptance_rate: 0.5,
      latency_ms: { n: 2, p50: 120.5, p95: 300, max: 300 },
      engine: { state: 'ready' },
      cache_entries: 3,
      inflight: 0,
    };
    assert.deepEqual(summarizeStats(raw), { offered: 2, accepted: 1, acceptanceRate: 0.5, p50Ms: 120.5, p95Ms: 300, cacheEntries: 3 });
  });

  it('tolerates missing or odd fields', () => {
    assert.deepEqual(summarizeStats({ counts: {}, latency_ms: { n: 0 }, acceptance_rate: null }), {});
    assert.equal(summarizeStats(null), undefined);
  });
});
