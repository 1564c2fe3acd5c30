/**
 * A stand-in for the `vscode` module, installed before the extension loads, so that activation can be
 * tested in plain Node. It records what the extension registers; anything it does not model is a
 * do-nothing function (callable and constructible), enough for vscode-languageclient to load.
 */

import Module from 'node:module';

type Listener = (event: { affectsConfiguration: (section: string) => boolean }) => unknown;

export const recorded = {
  commands: new Map<string, (...args: unknown[]) => unknown>(),
  statusItems: [] as { text: string; tooltip: string; command?: string; shown: boolean }[],
  configuration: new Map<string, unknown>(),
  updates: [] as [string, unknown][],
  errors: [] as string[],
  configListeners: [] as Listener[],
};

const disposable = { dispose: () => undefined };

function dummy(): unknown {
  return new Proxy(function () {}, {
    get: (_target, key) => (key === 'then' ? undefined : dummy()),
    apply: () => dummy(),
    construct: () => dummy() as object,
  });
}

const api: Record<string, unknown> = {
  StatusBarAlignment: { Left: 1, Right: 2 },
  ConfigurationTarget: { Global: 1, Workspace: 2, WorkspaceFolder: 3 },
  ThemeColor: class { constructor(readonly id: string) {} },
  Disposable: class { static from() { return disposable; } constructor(readonly dispose: () => void) {} },
  EventEmitter: class { event = () => disposable; fire() {} dispose() {} },
  window: {
    createOutputChannel: () => ({
      info() {}, warn() {}, error() {}, debug() {}, trace() {}, append() {}, appendLine() {}, show() {}, dispose() {},
      clear() {}, replace() {}, hide() {}, name: 'Mercury', logLevel: 2, onDidChangeLogLevel: () => disposable,
    }),
    createStatusBarItem: () => {
      const item = { text: '', tooltip: '', shown: false, show() { item.shown = true; }, hide() {}, dispose() {} };
      recorded.statusItems.push(item);
      return item;
    },
    showErrorMessage: async (message: string) => { recorded.errors.push(message); return undefined; },
    showWarningMessage: async (message: string) => { recorded.errors.push(message); return undefined; },
    showInformationMessage: async () => undefined,
  },
  commands: {
    registerCommand: (name: string, fn: (...args: unknown[]) => unknown) => {
      recorded.commands.set(name, fn);
      return disposable;
    },
  },
  workspace: {
    getConfiguration: (section?: string) => ({
      get: (key: string) => recorded.configuration.get(section ? `${section}.${key}` : key),
      update: async (key: string, value: unknown) => {
        recorded.updates.push([`${section}.${key}`, value]);
        recorded.configuration.set(`${section}.${key}`, value);
        for (const listener of recorded.configListeners) {
          await listener({ affectsConfiguration: (s) => `${section}.${key}`.startsWith(s) });
        }
      },
    }),
    onDidChangeConfiguration: (listener: Listener) => {
      recorded.configListeners.push(listener);
      return disposable;
    },
  },
};

/** `target` with a do-nothing stand-in for every member it does not define, at every depth. */
function withFallback<T extends object>(target: T): T {
  return new Proxy(target, {
    get: (t, key) => {
      if (!(key in t)) {
        return key === 'then' ? undefined : dummy();
      }
      const value = (t as Record<PropertyKey, unknown>)[key];
      return value !== null && typeof value === 'object' && !Array.isArray(value) ? withFallback(value) : value;
    },
  });
}

const vscode = withFallback(api);

const loader = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
const load = loader._load;
loader._load = function (request: string, ...rest: unknown[]) {
  return request === 'vscode' ? vscode : load.call(this, request, ...rest);
};
