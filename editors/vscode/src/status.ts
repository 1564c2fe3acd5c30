/**
 * What the status bar item says: the model, the server's state and the last completion's latency,
 * with the server's counters (the `mercury/stats` request) in the tooltip. Pure: the vscode item
 * lives in statusBar.ts.
 */

export type Phase = 'starting' | 'loading' | 'ready' | 'disabled' | 'stopped' | 'failed';

export interface StatsSummary {
  offered?: number;
  accepted?: number;
  acceptanceRate?: number;
  p50Ms?: number;
  p95Ms?: number;
  cacheEntries?: number;
}

export interface StatusState {
  phase: Phase;
  model: string;
  /** The running $/progress message, or why the server failed. */
  message?: string;
  lastLatencyMs?: number;
  stats?: StatsSummary;
}

export interface WorkDoneValue {
  kind: 'begin' | 'report' | 'end';
  title?: string;
  message?: string;
  percentage?: number;
}

const ICONS: Record<Phase, string> = {
  starting: '$(loading~spin)',
  loading: '$(loading~spin)',
  ready: '$(sparkle)',
  disabled: '$(circle-slash)',
  stopped: '$(debug-stop)',
  failed: '$(error)',
};

/**
 * The state after a $/progress value. mercury-lsp reports "starting", loading steps, then ends with
 * "<model> ready" or "could not start the ...".
 */
export function afterProgress(state: StatusState, value: WorkDoneValue): StatusState {
  if (value.kind === 'end') {
    const failed = value.message?.startsWith('could not') ?? false;
    return { ...state, phase: failed ? 'failed' : 'ready', message: failed ? value.message : undefined };
  }
  const parts = [value.message ?? value.title ?? 'loading'];
  if (value.percentage !== undefined) {
    parts.push(`${Math.round(value.percentage)}%`);
  }
  return { ...state, phase: 'loading', message: parts.join(' ') };
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const obj = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};

/** The counters worth showing, from a `mercury/stats` answer; tolerant of missing fields. */
export function summarizeStats(raw: unknown): StatsSummary | undefined {
  if (typeof raw !== 'object' || raw === null) {
    return undefined;
  }
  const stats = obj(raw);
  const counts = obj(stats['counts']);
  const latency = obj(stats['latency_ms']);
  const summary: StatsSummary = {};
  const fields: [keyof StatsSummary, number | undefined][] = [
    ['offered', num(counts['offered'])],
    ['accepted', num(counts['accepted'])],
    ['acceptanceRate', num(stats['acceptance_rate'])],
    ['p50Ms', num(latency['p50'])],
    ['p95Ms', num(latency['p95'])],
    ['cacheEntries', num(stats['cache_entries'])],
  ];
  for (const [key, value] of fields) {
    if (value !== undefined) {
      summary[key] = value;
    }
  }
  return summary;
}

function describeStats(s: StatsSummary): string[] {
  const lines: string[] = [];
  if (s.offered !== undefined) {
    const rate = s.acceptanceRate !== undefined ? ` (${Math.round(s.acceptanceRate * 100)}%)` : '';
    lines.push(`Shown ${s.offered}, accepted ${s.accepted ?? 0}${rate}`);
  }
  if (s.p50Ms !== undefined) {
    lines.push(`Latency p50 ${Math.round(s.p50Ms)} ms, p95 ${Math.round(s.p95Ms ?? s.p50Ms)} ms`);
  }
  if (s.cacheEntries !== undefined) {
    lines.push(`Cache entries ${s.cacheEntries}`);
  }
  return lines;
}

/** Text and tooltip of the status bar item. */
export function statusText(state: StatusState): { text: string; tooltip: string } {
  const model = state.model || 'default model';
  let text = `${ICONS[state.phase]} ${model}`;
  if (state.phase === 'ready' && state.lastLatencyMs !== undefined) {
    text += ` ${Math.round(state.lastLatencyMs)} ms`;
  } else if (state.phase === 'loading' || state.phase === 'starting') {
    text += ` ${state.message ?? state.phase}`;
  } else if (state.phase !== 'ready') {
    text += ` (${state.phase})`;
  }
  const tooltip = [`Mercury: ${state.phase}`, `Model: ${model}`];
  if (state.message && state.phase !== 'loading') {
    tooltip.push(state.message);
  }
  if (state.lastLatencyMs !== undefined) {
    tooltip.push(`Last completion: ${Math.round(state.lastLatencyMs)} ms`);
  }
  tooltip.push(...describeStats(state.stats ?? {}));
  tooltip.push(`Click to ${state.phase === 'disabled' ? 'enable' : 'disable'} inline completions`);
  return { text, tooltip: tooltip.join('\n') };
}
