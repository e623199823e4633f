/**
 * Every command: its name, arguments and options, and a loader for its handler. Handlers (and the
 * core they need) are imported only when their command runs, so `--version`, `--help` and
 * `rollback` do not pay for modules they never use.
 */
import type { Handler } from './types.js';

export interface OptionDef {
  flags: string;
  description: string;
  defaultValue?: string | boolean;
  choices?: string[];
}

export interface CommandDef {
  name: string;
  /** commander argument syntax, e.g. `<ref>` or `[model]`. */
  args?: string[];
  summary: string;
  options?: OptionDef[];
  load: () => Promise<{ handle: Handler }>;
}

const push: OptionDef = { flags: '--push', description: 'push the registry commit to the remote' };
const report: OptionDef = { flags: '--report <file>', description: 'write a Markdown summary (for a pull-request comment or job summary)' };
const junit: OptionDef = { flags: '--junit <file>', description: 'write checks and gates as JUnit XML test cases' };

export const commands: CommandDef[] = [
  {
    name: 'init',
    summary: 'create mlship.yaml and the .mlship/ folder from a template',
    options: [
      { flags: '--template <name>', description: 'template to start from', defaultValue: 'basic' },
      { flags: '--ci <provider>', description: 'also write a CI pipeline (.github/workflows/mlship.yml or .gitlab-ci.yml)', choices: ['github', 'gitlab'] },
      { flags: '--force', description: 'overwrite an existing mlship.yaml (with --ci in an existing project: the CI file)' },
    ],
    load: () => import('./init.js'),
  },
  {
    name: 'validate',
    summary: 'check the config, artifact paths, registry integrity and (unless --no-data) data checks',
    options: [
      { flags: '--staged', description: 'pre-commit mode: also refuse staged registry changes that are not pure appends' },
      { flags: '--no-data', description: 'skip the data checks' },
    ],
    load: () => import('./validate.js'),
  },
  { name: 'check', args: ['[names...]'], summary: 'run data, schema and drift checks', options: [report, junit], load: () => import('./check.js') },
  {
    name: 'hash',
    args: ['<paths...>'],
    summary: 'print the sha256 digest of files and directories, like sha256sum',
    options: [{ flags: '--no-cache', description: 'do not use the stat cache' }],
    load: () => import('./hash.js'),
  },
  { name: 'push', args: ['[model]'], summary: "hash and store the model's artifacts", load: () => import('./push.js') },
  {
    name: 'pull',
    args: ['<ref>'],
    summary: "fetch and verify a version's artifacts (MODEL[@REF])",
    options: [{ flags: '-o, --output <dir>', description: 'folder to write the artifacts into (default: their paths in the project)' }],
    load: () => import('./pull.js'),
  },
  {
    name: 'eval',
    args: ['[model]'],
    summary: 'run the evaluation and apply the gates',
    options: [{ flags: '--runner <kind>', description: 'override evaluate.runner', choices: ['local', 'docker'] }, report, junit],
    load: () => import('./eval.js'),
  },
  { name: 'register', args: ['[model]'], summary: 'record a new version (after push and eval)', options: [push], load: () => import('./register.js') },
  {
    name: 'run',
    args: ['[model]'],
    summary: 'check, push, evaluate, gate and register',
    options: [{ flags: '--runner <kind>', description: 'override evaluate.runner', choices: ['local', 'docker'] }, push, report, junit],
    load: () => import('./run.js'),
  },
  {
    name: 'promote',
    args: ['<ref>'],
    summary: 'make a version live in an environment (MODEL@REF --to ENV)',
    options: [
      { flags: '--to <env>', description: 'target environment' },
      { flags: '--reason <text>', description: 'why (required with --force)' },
      { flags: '--force', description: 'override failed gates or policy conditions (with --reason)' },
      { flags: '--canary <percent>', description: 'start (or re-weight) a canary taking PERCENT of the traffic next to the stable version' },
      push,
    ],
    load: () => import('./promote.js'),
  },
  {
    name: 'approve',
    args: ['<ref>'],
    summary: 'approve a version for an environment (MODEL@REF --for ENV)',
    options: [{ flags: '--for <env>', description: 'environment the approval is for' }, { flags: '--comment <text>', description: 'a note recorded with the approval' }, push],
    load: () => import('./approve.js'),
  },
  {
    name: 'rollback',
    args: ['<model>'],
    summary: 'put the previous version back live in an environment',
    options: [
      { flags: '--env <env>', description: 'environment to roll back' },
      { flags: '--to <ref>', description: 'version to return to (default: the one live before the current)' },
      { flags: '--reason <text>', description: 'why (required)' },
      push,
    ],
    load: () => import('./rollback.js'),
  },
  {
    name: 'deprecate',
    args: ['<ref>'],
    summary: 'mark a version as never to be promoted again',
    options: [{ flags: '--reason <text>', description: 'why (required)' }, push],
    load: () => import('./deprecate.js'),
  },
  { name: 'push-registry', summary: 'push registry commits that are only local, re-appending them if another writer pushed first', load: () => import('./push-registry.js') },
  { name: 'status', args: ['[model]'], summary: 'what is live where', load: () => import('./status.js') },
  {
    name: 'history',
    args: ['<model>'],
    summary: "a model's events",
    options: [{ flags: '--env <env>', description: 'only events about this environment' }],
    load: () => import('./history.js'),
  },
  {
    name: 'diff',
    args: ['<a>', '<b>'],
    summary: 'compare two versions: metrics, artifacts, checks',
    options: [{ flags: '--md', description: 'print the comparison as Markdown' }, report],
    load: () => import('./diff.js'),
  },
  {
    name: 'verify',
    summary: 'check every chain and that the registry history in git is append-only',
    options: [
      { flags: '--store', description: 'also re-hash every referenced object in the store' },
      { flags: '--since <rev>', description: 'check the registry only grew since this revision (e.g. origin/main)' },
    ],
    load: () => import('./verify.js'),
  },
  { name: 'hook', args: ['<action>'], summary: 'install or uninstall the git pre-commit hook (mlship validate --staged)', load: () => import('./hook.js') },
  {
    name: 'canary',
    args: ['<action>', '[model]'],
    summary: "judge a running canary by live metrics (canary verify MODEL --env ENV --metrics FILE [--auto])",
    options: [
      { flags: '--env <env>', description: 'environment the canary runs in' },
      { flags: '--metrics <file>', description: 'live metrics: {"stable": {...}, "canary": {...}}' },
      { flags: '--auto', description: 'promote the canary fully when it passes, abort it when it fails' },
      { flags: '--reason <text>', description: 'recorded with the event (default: the verdict)' },
      push,
    ],
    load: () => import('./canary.js'),
  },
];
