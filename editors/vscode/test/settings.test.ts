import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { DEFAULTS, documentSelector, KEYS, readSettings, restartNeeded, serverCommand, serverSettings, Settings } from '../src/settings';

const fromObject = (values: Record<string, unknown>) => (key: string) => values[key];

describe('readSettings', () => {
  it('gives the defaults when nothing is set', () => {
    const { settings, problems } = readSettings(() => undefined);
    assert.deepEqual(settings, DEFAULTS);
    assert.deepEqual(problems, []);
  });

  it('takes valid values by their package.json keys', () => {
    const { settings, problems } = readSettings(fromObject({
      'server.command': '/venv/bin/mercury-lsp', 'server.args': ['--log-file', '/tmp/m.log'], model: '/models/mine',
      languages: ['python'], multiline: 'never', 'debounce.mode': 'fixed', 'debounce.ms': 0, enable: false,
      prefetch: false,
    }));
    assert.deepEqual(problems, []);
    assert.equal(settings.command, '/venv/bin/mercury-lsp');
    assert.deepEqual(settings.args, ['--log-file', '/tmp/m.log']);
    assert.equal(settings.multiline, 'never');
    assert.equal(settings.debounceMode, 'fixed');
    assert.equal(settings.debounceMs, 0);
    assert.equal(settings.enable, false);
    assert.equal(settings.prefetch, false);
  });

  it('keeps the default for each bad value and names the setting', () => {
    const { settings, problems } = readSettings(fromObject({
      'debounce.ms': -1, multiline: 'sometimes', languages: [], 'server.args': '--x', 'server.command': ' ',
      prefetch: 'yes',
    }));
    assert.equal(settings.debounceMs, DEFAULTS.debounceMs);
    assert.equal(settings.multiline, 'auto');
    assert.deepEqual(settings.languages, DEFAULTS.languages);
    assert.deepEqual(settings.args, []);
    assert.equal(settings.command, 'mercury-lsp');
    assert.equal(settings.prefetch, true);
    assert.equal(problems.length, 6);
    for (const key of ['debounce.ms', 'multiline', 'languages', 'server.args', 'server.command', 'prefetch']) {
      assert.ok(problems.some((p) => p.startsWith(`mercury.${key} `)), key);
    }
  });

  it('does not share the default lists with the result', () => {
    const { settings } = readSettings(() => undefined);
    settings.languages.push('lua');
    assert.ok(!DEFAULTS.languages.includes('lua'));
  });
});

describe('package.json', () => {
  const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'));
  const properties = manifest.contributes.configuration.properties as Record<string, { default: unknown }>;

  it('declares every setting with the default the code uses', () => {
    for (const name of Object.keys(KEYS) as (keyof Settings)[]) {
      const declared = properties[`mercury.${KEYS[name]}`];
      assert.ok(declared, `mercury.${KEYS[name]} is not declared`);
      assert.deepEqual(declared.default, DEFAULTS[name], `default of mercury.${KEYS[name]}`);
    }
  });

  it('declares mercury.trace.server and a command for each contributed title', () => {
    assert.ok(properties['mercury.trace.server']);
    const commands = manifest.contributes.commands.map((c: { command: string }) => c.command).sort();
    assert.deepEqual(commands, ['mercury.restartServer', 'mercury.showLog', 'mercury.showStats', 'mercury.toggle']);
  });
});

describe('serverCommand', () => {
  it('passes the model and then the extra arguments', () => {
    const settings = { ...DEFAULTS, args: ['--log-file', 'f'] };
    assert.deepEqual(serverCommand(settings), { command: 'mercury-lsp', args: ['--model', 'coder-mini', '--log-file', 'f'] });
  });

  it('leaves --model out when the model is empty', () => {
    assert.deepEqual(serverCommand({ ...DEFAULTS, model: ' ' }), { command: 'mercury-lsp', args: [] });
  });
});

describe('documentSelector', () => {
  it('covers saved and unsaved documents of each language', () => {
    assert.deepEqual(documentSelector(['python', 'go']), [
      { scheme: 'file', language: 'python' }, { scheme: 'untitled', language: 'python' },
      { scheme: 'file', language: 'go' }, { scheme: 'untitled', language: 'go' },
    ]);
  });

  it('treats * as every language', () => {
    assert.deepEqual(documentSelector(['python', '*']), [{ scheme: 'file' }, { scheme: 'untitled' }]);
  });
});

describe('serverSettings', () => {
  it("uses the server's keys and leaves out editor-only settings", () => {
    assert.deepEqual(serverSettings(DEFAULTS), {
      enable: true, languages: [...DEFAULTS.languages], multiline: 'auto', debounce: { mode: 'adaptive', ms: 120 },
      prefetch: true,
    });
  });
});

describe('restartNeeded', () => {
  it('restarts for the command line and the languages only', () => {
    assert.equal(restartNeeded(DEFAULTS, { ...DEFAULTS, model: 'coder-small' }), true);
    assert.equal(restartNeeded(DEFAULTS, { ...DEFAULTS, args: ['--threads', '2'] }), true);
    assert.equal(restartNeeded(DEFAULTS, { ...DEFAULTS, languages: ['python'] }), true);
    assert.equal(restartNeeded(DEFAULTS, { ...DEFAULTS, enable: false, multiline: 'never', debounceMs: 10, prefetch: false }), false);
  });
});
