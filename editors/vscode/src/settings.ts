/**
 * The extension's settings: typed, with their defaults in one place (DEFAULTS, which package.json
 * repeats and a unit test compares), checked where they enter. A bad value yields a message and
 * its default; it never stops the extension. Pure: no `vscode` import, so Node tests run it.
 */

export type Multiline = 'auto' | 'always' | 'never';
export type DebounceMode = 'adaptive' | 'fixed';

export interface Settings {
  /** Show inline completions while typing. */
  enable: boolean;
  /** Registry name or model folder, passed as `--model`; empty lets the server choose. */
  model: string;
  /** Executable of the language server. */
  command: string;
  /** Extra arguments after `--model`. */
  args: string[];
  /** Language identifiers that get completions; `*` means every file. */
  languages: string[];
  /** Whether completions may span several lines. */
  multiline: Multiline;
  /** How the server waits for a typing pause before it runs the model. */
  debounceMode: DebounceMode;
  /** The fixed wait, in milliseconds (also the adaptive mode's starting point). */
  debounceMs: number;
  /** Complete the line below an accepted suggestion before Enter is pressed. */
  prefetch: boolean;
}

export const DEFAULTS: Readonly<Settings> = Object.freeze({
  enable: true,
  model: 'coder-mini',
  command: 'mercury-lsp',
  args: [],
  languages: ['python', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact', 'java', 'go', 'rust', 'c',
    'cpp'],
  multiline: 'auto',
  debounceMode: 'adaptive',
  debounceMs: 120,
  prefetch: true,
});

/** Where each setting lives under the `mercury.` section of the VS Code configuration. */
export const KEYS: Readonly<Record<keyof Settings, string>> = Object.freeze({
  enable: 'enable',
  model: 'model',
  command: 'server.command',
  args: 'server.args',
  languages: 'languages',
  multiline: 'multiline',
  debounceMode: 'debounce.mode',
  debounceMs: 'debounce.ms',
  prefetch: 'prefetch',
});

type Check = (value: unknown) => string | undefined;

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
const oneOf = (choices: readonly string[]): Check => (v) =>
  typeof v === 'string' && choices.includes(v) ? undefined : `must be one of ${choices.join(', ')}`;

const isBoolean: Check = (v) => (typeof v === 'boolean' ? undefined : 'must be true or false');

const CHECKS: Readonly<Record<keyof Settings, Check>> = {
  enable: isBoolean,
  model: (v) => (typeof v === 'string' ? undefined : 'must be a model name or folder'),
  command: (v) => (typeof v === 'string' && v.trim() !== '' ? undefined : 'must name an executable'),
  args: (v) => (isStringList(v) ? undefined : 'must be a list of strings'),
  languages: (v) => (isStringList(v) && v.length > 0 ? undefined : 'must be a non-empty list of language ids'),
  multiline: oneOf(['auto', 'always', 'never']),
  debounceMode: oneOf(['adaptive', 'fixed']),
  debounceMs: (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 5000
      ? undefined
      : 'must be a whole number from 0 to 5000',
  prefetch: isBoolean,
};

export interface ReadResult {
  settings: Settings;
  /** One message per rejected value, naming the setting. */
  problems: string[];
}

/**
 * Read every setting through `get` (a `WorkspaceConfiguration.get` for the `mercury` section, or a
 * plain lookup in tests); `undefined` means unset and gives the default.
 */
export function readSettings(get: (key: string) => unknown): ReadResult {
  const settings: Record<string, unknown> = {
    ...DEFAULTS,
    args: [...DEFAULTS.args],
    languages: [...DEFAULTS.languages],
  };
  const problems: string[] = [];
  for (const name of Object.keys(KEYS) as (keyof Settings)[]) {
    const value = get(KEYS[name]);
    if (value === undefined || value === null) {
      continue;
    }
    const problem = CHECKS[name](value);
    if (problem === undefined) {
      settings[name] = Array.isArray(value) ? [...value] : value;
    } else {
      const shown = JSON.stringify(value);
      problems.push(`mercury.${KEYS[name]} ${problem}, got ${shown}; using ${JSON.stringify(DEFAULTS[name])}`);
    }
  }
  return { settings: settings as unknown as Settings, problems };
}

/** The server's command line. */
export function serverCommand(s: Settings): { command: string; args: string[] } {
  const model = s.model.trim();
  return { command: s.command.trim(), args: [...(model ? ['--model', model] : []), ...s.args] };
}

export interface DocumentFilter {
  scheme: string;
  language?: string;
}

/** Which documents the client syncs and asks completions for: files and unsaved buffers. */
export function documentSelector(languages: readonly string[]): DocumentFilter[] {
  const schemes = ['file', 'untitled'];
  if (languages.includes('*')) {
    return schemes.map((scheme) => ({ scheme }));
  }
  return languages.flatMap((language) => schemes.map((scheme) => ({ scheme, language })));
}

/**
 * What the server reads (mercury-lsp's lsp/config.py, camelCase keys): sent as initializationOptions,
 * with workspace/didChangeConfiguration, and as the answer to workspace/configuration. Editor-only
 * settings (command, args, model) are left out: the server would warn about unknown keys.
 */
export function serverSettings(s: Settings): Record<string, unknown> {
  return {
    enable: s.enable,
    languages: [...s.languages],
    multiline: s.multiline,
    debounce: { mode: s.debounceMode, ms: s.debounceMs },
    prefetch: s.prefetch,
  };
}

/** Whether going from `before` to `after` needs a new server process or a new client. */
export function restartNeeded(before: Settings, after: Settings): boolean {
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  return (
    before.command !== after.command ||
    before.model !== after.model ||
    !same(before.args, after.args) ||
    !same(before.languages, after.languages)
  );
}
