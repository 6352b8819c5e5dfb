/** The GitHub workflows cannot run here; they must at least be valid, pinned and least-privileged. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { root } from './helpers.js';

const dir = join(root, '.github', 'workflows');
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));

interface Step {
  uses?: string;
  run?: string;
}
interface Workflow {
  permissions?: Record<string, string>;
  jobs: Record<string, { steps: Step[]; needs?: string | string[]; 'timeout-minutes'?: number }>;
}

describe.each(files)('%s', (file) => {
  const content = readFileSync(join(dir, file), 'utf8');
  const wf = parse(content) as Workflow;

  it('parses against the GitHub Actions workflow schema', () => {
    const result = parseWorkflow({ name: file, content }, new NoOperationTraceWriter());
    expect(result.context.errors.getErrors().map((e) => e.message)).toEqual([]);
    expect(result.value).toBeDefined();
  });

  it('pins every action to a full commit SHA and grants read-only contents', () => {
    const uses = Object.values(wf.jobs).flatMap((j) => j.steps.map((s) => s.uses).filter((u): u is string => !!u));
    expect(uses.length).toBeGreaterThan(0);
    for (const u of uses) expect(u).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
    expect(wf.permissions).toEqual({ contents: 'read' });
    for (const job of Object.values(wf.jobs)) expect(job['timeout-minutes']).toBeGreaterThan(0);
  });

  it('runs only scripts that exist in package.json', () => {
    const scripts = Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);
    const runs = Object.values(wf.jobs).flatMap((j) => j.steps.map((s) => s.run ?? ''));
    for (const r of runs) {
      const m = /^npm (?:run )?([\w:-]+)/.exec(r);
      if (m && !['ci', 'install', 'test', 'pack', 'publish'].includes(m[1] as string)) expect(scripts).toContain(m[1]);
    }
  });
});

it('lint and typecheck gate the build and test jobs', () => {
  const wf = parse(readFileSync(join(dir, 'ci.yml'), 'utf8')) as Workflow;
  expect(wf.jobs.test?.needs).toBe('gates');
  expect(wf.jobs.prebuild?.needs).toBe('gates');
  const gateRuns = wf.jobs.gates?.steps.map((s) => s.run) ?? [];
  expect(gateRuns).toEqual(expect.arrayContaining(['npm run typecheck', 'npm run lint']));
});
