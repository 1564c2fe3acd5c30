/** The status bar item: renders a StatusState (status.ts) and toggles completions on click. */

import * as vscode from 'vscode';

import { StatusState, statusText } from './status';

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private current: StatusState;

  constructor(model: string) {
    this.item = vscode.window.createStatusBarItem('mercury.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'Mercury';
    this.item.command = 'mercury.toggle';
    this.current = { phase: 'starting', model };
    this.render();
    this.item.show();
  }

  get state(): StatusState {
    return this.current;
  }

  update(change: Partial<StatusState>): void {
    this.current = { ...this.current, ...change };
    this.render();
  }

  replace(state: StatusState): void {
    this.current = state;
    this.render();
  }

  private render(): void {
    const { text, tooltip } = statusText(this.current);
    this.item.text = text;
    this.item.tooltip = tooltip;
    this.item.backgroundColor =
      this.current.phase === 'failed' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
