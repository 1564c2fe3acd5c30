/**
 * Mercury LSP for VS Code: ghost-text completions from `mercury-lsp`. vscode-languageclient 11 maps
 * the server's textDocument/inlineCompletion to VS Code's inline suggestions; this file only wires
 * the output channel, the status bar, the commands and the configuration listener to the Controller.
 */

import * as vscode from 'vscode';

import { Controller } from './controller';
import { StatusBar } from './statusBar';

let controller: Controller | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('Mercury', { log: true });
  const status = new StatusBar(vscode.workspace.getConfiguration('mercury').get<string>('model') ?? '');
  controller = new Controller(output, status);
  const c = controller;
  context.subscriptions.push(
    output,
    status,
    c,
    vscode.commands.registerCommand('mercury.toggle', () => c.toggle()),
    vscode.commands.registerCommand('mercury.restartServer', () => c.restart()),
    vscode.commands.registerCommand('mercury.showLog', () => output.show()),
    vscode.commands.registerCommand('mercury.showStats', () => c.showStats()),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('mercury')) {
        void c.onConfigurationChanged();
      }
    }),
  );
  await c.start();
}

export async function deactivate(): Promise<void> {
  await controller?.stop();
  controller = undefined;
}
