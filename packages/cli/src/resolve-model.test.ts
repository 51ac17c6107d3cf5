import { afterEach, describe, expect, it } from 'vitest';
import { resolveModel } from './resolve-model.js';

const context = { stdout: process.stdout, stderr: process.stderr };

describe('resolveModel reads the environment only through the injected environment', () => {
  const saved = { OPENAI_BASE_URL: process.env.OPENAI_BASE_URL, OPENAI_MODEL: process.env.OPENAI_MODEL };
  afterEach(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('takes OPENAI_BASE_URL and OPENAI_MODEL from environment', async () => {
    const { model } = await resolveModel({}, { ...context, environment: { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', OPENAI_MODEL: 'injected' } });
    expect(model.modelId).toBe('injected');
  });

  it('ignores process.env: its OPENAI_MODEL does not leak into the injected environment', async () => {
    process.env.OPENAI_BASE_URL = 'http://127.0.0.1:9/v1';
    process.env.OPENAI_MODEL = 'from-process-env';
    const { model } = await resolveModel({}, { ...context, environment: { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' } });
    expect(model.modelId).toBe('gpt-4o-mini');
  });
});
