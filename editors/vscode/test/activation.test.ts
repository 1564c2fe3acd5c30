import './fakeVscode'; // must run before the extension (and vscode-languageclient) load

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { activate, deactivate } from '../src/extension';
import { recorded } from './fakeVscode';

const context = { subscriptions: [] as { dispose(): unknown }[] };

/** Poll until `condition` holds (the extension reacts to configuration changes asynchronously). */
async function waitFor(condition: () => boolean, what: string, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      assert.fail(`timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('activate', () => {
  it('registers the commands and shows a disabled status without starting a server', async () => {
    recorded.configuration.set('mercury.enable', false);
    await activate(context as never);
    assert.deepEqual([...recorded.commands.keys()].sort(),
      ['mercury.restartServer', 'mercury.showLog', 'mercury.showStats', 'mercury.toggle']);
    const item = recorded.statusItems.at(-1);
    assert.ok(item?.shown);
    assert.equal(item?.text, '$(circle-slash) coder-mini (disabled)');
    assert.equal(item?.command, 'mercury.toggle');
  });

  it('toggles through the user setting', async () => {
    recorded.configuration.set('mercury.server.command', '/nonexistent/mercury-lsp');
    await recorded.commands.get('mercury.toggle')?.();
    assert.deepEqual(recorded.updates.at(-1), ['mercury.enable', true]);
  });

  it('reports a server that cannot start instead of throwing', async () => {
    const item = recorded.statusItems.at(-1);
    await waitFor(() => /\(failed\)$/.test(item?.text ?? ''), `a failed status, not ${item?.text}`);
    assert.ok(recorded.errors.some((e) => e.includes('could not start `/nonexistent/mercury-lsp --model coder-mini`')), recorded.errors.join('\n'));
  });

  it('deactivates cleanly', async () => {
    await deactivate();
    for (const d of context.subscriptions) {
      d.dispose();
    }
  });
});
