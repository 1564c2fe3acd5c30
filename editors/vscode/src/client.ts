/** Building the LanguageClient for `mercury-lsp` from the settings (settings.ts does the logic). */

import * as vscode from 'vscode';
import {
  LanguageClient,
  LanguageClientOptions,
  ResponseError,
  ServerOptions,
  TransportKind,
} from 'vscode-languageclient/node';

import { inlineCompletionMiddleware } from './middleware';
import { documentSelector, serverCommand, serverSettings, Settings } from './settings';
import { WorkDoneValue } from './status';

export interface ClientHooks {
  /** The current settings (they change without a restart for enable, multiline, debounce and prefetch). */
  settings: () => Settings;
  onLatency: (ms: number) => void;
  onProgress: (value: WorkDoneValue) => void;
}

export function createClient(settings: Settings, output: vscode.LogOutputChannel, hooks: ClientHooks): LanguageClient {
  const { command, args } = serverCommand(settings);
  const serverOptions: ServerOptions = { command, args, transport: TransportKind.stdio };
  const clientOptions: LanguageClientOptions = {
    documentSelector: documentSelector(settings.languages),
    outputChannel: output,
    initializationOptions: serverSettings(settings),
    // A server that cannot start (no model, wrong command) should say so once, not restart in a loop.
    connectionOptions: { maxRestartCount: 2 },
    middleware: {
      provideInlineCompletionItems: inlineCompletionMiddleware({
        enabled: () => hooks.settings().enable,
        onLatency: hooks.onLatency,
      }),
      handleWorkDoneProgress: (token, params, next) => {
        hooks.onProgress(params);
        next(token, params); // VS Code's own progress display still runs
      },
      workspace: {
        // The server asks for the "mercury" section; answer with what it understands, not every setting.
        configuration: async (params, token, next) => {
          const answers = await next(params, token);
          if (answers instanceof ResponseError) {
            return answers;
          }
          return params.items.map((item, i) =>
            item.section === 'mercury' ? serverSettings(hooks.settings()) : answers[i],
          );
        },
      },
    },
  };
  return new LanguageClient('mercury', 'Mercury', serverOptions, clientOptions);
}
