/**
 * One language client at a time: start it (never twice at once), restart it when its command line or
 * languages change, push the other settings to the running server, and keep the status bar current.
 */

import * as vscode from 'vscode';
import { DidChangeConfigurationNotification, LanguageClient, State } from 'vscode-languageclient/node';

import { createClient } from './client';
import { readSettings, restartNeeded, serverCommand, serverSettings, Settings } from './settings';
import { afterProgress, summarizeStats } from './status';
import { StatusBar } from './statusBar';

const STATS_INTERVAL_MS = 5000;

function serverCommandLine(settings: Settings): string {
  const { command, args } = serverCommand(settings);
  return [command, ...args].join(' ');
}

export class Controller implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<void> | undefined;
  private settings: Settings;
  private lastStats = 0;

  constructor(
    private readonly output: vscode.LogOutputChannel,
    private readonly status: StatusBar,
  ) {
    this.settings = this.read();
  }

  /** Start the server unless completions are off or it already runs; concurrent calls share one start. */
  async start(): Promise<void> {
    if (!this.settings.enable) {
      this.status.replace({ phase: 'disabled', model: this.settings.model });
      return;
    }
    if (this.client || this.starting) {
      return this.starting;
    }
    this.starting = this.launch().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async launch(): Promise<void> {
    const settings = this.settings;
    this.status.replace({ phase: 'starting', model: settings.model });
    try {
      const client = createClient(settings, this.output, {
        settings: () => this.settings,
        onLatency: (ms) => this.onLatency(ms),
        onProgress: (value) => this.status.replace(afterProgress(this.status.state, value)),
      });
      client.onDidChangeState(({ newState }) => {
        if (newState === State.Stopped && this.client === client) {
          this.status.update({ phase: 'stopped' });
        }
      });
      this.client = client;
      await client.start();
      this.output.info(`started ${serverCommandLine(settings)}`);
    } catch (error) {
      const message = `Mercury: could not start \`${serverCommandLine(settings)}\`: ${String(error)}`;
      this.output.error(message);
      this.status.update({ phase: 'failed', message });
      this.client = undefined;
      void vscode.window.showErrorMessage(message, 'Show Log').then((pick) => pick && this.output.show());
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      if (client.state === State.Running) {
        await client.stop();
      }
      await client.dispose();
    }
  }

  async restart(): Promise<void> {
    await this.starting;
    await this.stop();
    await this.start();
  }

  /** Flip `mercury.enable` in the user settings; onConfigurationChanged does the rest. */
  async toggle(): Promise<void> {
    const config = vscode.workspace.getConfiguration('mercury');
    await config.update('enable', !this.settings.enable, vscode.ConfigurationTarget.Global);
  }

  async onConfigurationChanged(): Promise<void> {
    const before = this.settings;
    this.settings = this.read();
    if (restartNeeded(before, this.settings)) {
      this.output.info('server settings changed: restarting');
      await this.restart();
      return;
    }
    if (!this.settings.enable) {
      this.status.update({ phase: 'disabled' });
    } else if (!this.client) {
      await this.start();
    } else if (this.status.state.phase === 'disabled') {
      this.status.update({ phase: 'ready' });
    }
    if (this.client?.state === State.Running) {
      await this.client.sendNotification(DidChangeConfigurationNotification.type, {
        settings: { mercury: serverSettings(this.settings) },
      });
    }
  }

  async showStats(): Promise<void> {
    if (this.client?.state !== State.Running) {
      void vscode.window.showInformationMessage('Mercury: the server is not running.');
      return;
    }
    const raw = await this.client.sendRequest('mercury/stats', {});
    this.output.info(`mercury/stats ${JSON.stringify(raw)}`);
    const stats = summarizeStats(raw);
    if (stats) {
      this.status.update({ stats });
    }
    void vscode.window.showInformationMessage(this.status.state.phase === 'failed'
      ? this.status.state.message ?? 'Mercury: failed'
      : `Mercury: ${JSON.stringify(stats ?? raw)}`, 'Show Log').then((pick) => pick && this.output.show());
  }

  private onLatency(ms: number): void {
    const phase = this.status.state.phase === 'loading' ? 'ready' : this.status.state.phase;
    this.status.update({ lastLatencyMs: ms, phase });
    const now = Date.now();
    if (this.client?.state === State.Running && now - this.lastStats > STATS_INTERVAL_MS) {
      this.lastStats = now;
      this.client.sendRequest('mercury/stats', {}).then(
        (raw) => {
          const stats = summarizeStats(raw);
          if (stats) {
            this.status.update({ stats });
          }
        },
        () => undefined, // an older server without mercury/stats: the tooltip just lacks counters
      );
    }
  }

  private read(): Settings {
    const config = vscode.workspace.getConfiguration('mercury');
    const { settings, problems } = readSettings((key) => config.get(key));
    for (const problem of problems) {
      this.output.warn(problem);
    }
    if (problems.length > 0) {
      void vscode.window.showWarningMessage(`Mercury settings: ${problems.join('; ')}`);
    }
    return settings;
  }

  dispose(): void {
    void this.stop();
  }
}
