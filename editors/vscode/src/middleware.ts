/**
 * The client middleware: gate inline completions on the `enable` setting and time each answer for
 * the status bar. Typed structurally so that Node tests call it with fakes, without VS Code.
 */

export interface CancellationLike {
  readonly isCancellationRequested: boolean;
}

export interface InlineMiddlewareOptions {
  enabled: () => boolean;
  /** Called with the round trip of every answer that was not cancelled. */
  onLatency: (ms: number) => void;
  now?: () => number;
}

/** A `provideInlineCompletionItems` middleware for vscode-languageclient. */
export function inlineCompletionMiddleware(options: InlineMiddlewareOptions) {
  const now = options.now ?? (() => performance.now());
  return async <D, P, C, T extends CancellationLike, R>(
    document: D,
    position: P,
    context: C,
    token: T,
    next: (document: D, position: P, context: C, token: T) => R | PromiseLike<R>,
  ): Promise<R | null> => {
    if (!options.enabled()) {
      return null; // nothing is sent: the server stays idle while completions are off
    }
    const started = now();
    const result = await next(document, position, context, token);
    if (!token.isCancellationRequested) {
      options.onLatency(now() - started);
    }
    return result;
  };
}

