/**
 * The mlship.yaml schema: the single source of truth for the pipeline file.
 * The JSON Schema shipped in schema/mlship.schema.json is generated from it (`npm run schema`).
 */
import { z } from 'zod';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const name = (what: string) =>
  z.string().regex(NAME, `${what} must start with a letter or digit and use only letters, digits, '.', '_' and '-'`);

/** A duration: a number of seconds, or `500ms`, `30s`, `10m`, `2h`, `3d`. */
export const Duration = z.union([
  z.number().positive(),
  z
    .string()
    .regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/, "expected a duration such as '30s', '10m', '2h' or '3d'")
    .refine((v) => Number.parseFloat(v) > 0, 'a duration must be greater than zero'),
]);

const S3Settings = z.strictObject({
  url: z.string().min(1),
  region: z.string().min(1).optional(),
  endpoint: z.string().url().optional(),
  forcePathStyle: z.boolean().optional(),
  profile: z.string().min(1).optional(),
  sse: z.enum(['AES256', 'aws:kms']).optional(),
  kmsKeyId: z.string().min(1).optional(),
});

export const StoreSetting = z.union([z.string().min(1), S3Settings]);

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const bound = z.union([z.number(), z.string()]);

export const ColumnRule = z.strictObject({
  type: z.enum(['integer', 'number', 'string', 'boolean', 'date', 'timestamp']).optional(),
  nullable: z.boolean().optional(),
  min: bound.optional(),
  max: bound.optional(),
  in: z.array(scalar).min(1).optional(),
  pattern: z.string().optional(),
  unique: z.boolean().optional(),
  /** Fraction of rows that must satisfy the rules (0..1). */
  mostly: z.number().min(0).max(1).optional(),
});

const DriftColumns = z.union([
  z.array(z.string().min(1)).min(1),
  z.record(z.string().min(1), z.strictObject({ max: z.number().positive().optional(), method: z.enum(['psi', 'ks']).optional() })),
]);

export const DriftCheck = z.strictObject({
  reference: z.string().min(1),
  current: z.string().min(1),
  columns: DriftColumns.optional(),
  method: z.enum(['psi', 'ks']).default('psi'),
  max: z.number().positive().default(0.2),
  bins: z.number().int().min(2).max(100).default(10),
});

export const Check = z
  .strictObject({
    description: z.string().optional(),
    data: z.string().min(1).optional(),
    rows: z.strictObject({ min: z.number().int().min(0).optional(), max: z.number().int().min(0).optional() }).optional(),
    columns: z.record(z.string().min(1), ColumnRule).optional(),
    strict: z.boolean().optional(),
    unique: z.array(z.string().min(1)).min(1).optional(),
    freshness: z.strictObject({ column: z.string().min(1), max_age: Duration }).optional(),
    drift: DriftCheck.optional(),
  })
  .superRefine((check, ctx) => {
    if ((check.data === undefined) === (check.drift === undefined)) {
      ctx.addIssue({ code: 'custom', message: "a check needs exactly one of 'data' (a dataset check) or 'drift'" });
    }
    if (check.drift !== undefined) {
      for (const key of ['rows', 'columns', 'strict', 'unique', 'freshness'] as const) {
        if (check[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `'${key}' belongs to dataset checks, not to drift checks` });
      }
    }
  });

export const Gate = z
  .strictObject({
    metric: z.string().min(1),
    min: z.number().optional(),
    max: z.number().optional(),
    vs: z.string().min(1).optional(),
    max_drop: z.number().min(0).optional(),
    min_gain: z.number().optional(),
    max_drop_pct: z.number().min(0).optional(),
    min_gain_pct: z.number().optional(),
    higher_is_better: z.boolean().default(true),
    on_missing_baseline: z.enum(['pass', 'fail']).default('pass'),
  })
  .superRefine((gate, ctx) => {
    const relative = ['max_drop', 'min_gain', 'max_drop_pct', 'min_gain_pct'] as const;
    const hasRelative = relative.some((key) => gate[key] !== undefined);
    if (gate.vs === undefined && hasRelative) {
      ctx.addIssue({ code: 'custom', message: "max_drop, min_gain, max_drop_pct and min_gain_pct compare with an environment: add 'vs: ENV'" });
    }
    if (gate.vs !== undefined && !hasRelative) {
      ctx.addIssue({ code: 'custom', path: ['vs'], message: "a 'vs' gate needs one of max_drop, min_gain, max_drop_pct, min_gain_pct" });
    }
    if (gate.vs === undefined && gate.min === undefined && gate.max === undefined) {
      ctx.addIssue({ code: 'custom', message: 'a gate needs a bound: min, max, or vs with max_drop/min_gain/max_drop_pct/min_gain_pct' });
    }
  });

const Predictions = z.strictObject({
  path: z.string().min(1),
  label: z.string().min(1).default('label'),
  score: z.string().min(1).default('score'),
  prediction: z.string().min(1).optional(),
  groups: z.array(z.string().min(1)).default([]),
  threshold: z.number().min(0).max(1).default(0.5),
  bins: z.number().int().min(2).max(1000).default(10),
  positive: scalar.optional(),
});

const size = z.union([z.number().int().positive(), z.string().regex(/^\d+(\.\d+)?\s*([kmgt]i?b?|b)?$/i, "expected a size such as '512m' or '2g'")]);

export const Evaluate = z
  .strictObject({
    runner: z.enum(['local', 'docker']).default('local'),
    command: z.array(z.string()).min(1, 'the evaluation command needs at least the program to run'),
    metrics: z.string().min(1).default('metrics.json'),
    predictions: Predictions.optional(),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'environment variable names are letters, digits and _'), z.string()).default({}),
    timeout: Duration.optional(),
    // docker runner
    image: z
      .string()
      .regex(
        /^(?:[A-Za-z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*(?::\w[\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/,
        "expected an image reference such as 'python:3.12-slim' or 'registry.example.com/team/eval@sha256:…'",
      )
      .optional(),
    pull: z.enum(['missing', 'always', 'never']).default('missing'),
    network: z.string().min(1).default('none'),
    resources: z.strictObject({ memory: size.optional(), cpus: z.number().positive().optional(), pids: z.number().int().positive().optional() }).optional(),
    user: z.string().regex(/^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$/, 'expected uid[:gid] or a user name').optional(),
  })
  .superRefine((evaluate, ctx) => {
    if (evaluate.runner === 'docker' && evaluate.image === undefined) {
      ctx.addIssue({ code: 'custom', path: ['image'], message: "the docker runner needs 'image'" });
    }
  });

const Policy = z.strictObject({
  requires: z.string().min(1).optional(),
  approvals: z.number().int().min(0).optional(),
  approvers: z.array(z.string().min(1)).optional(),
  branches: z.array(z.string().min(1)).optional(),
  allow_force: z.boolean().default(true),
});

export const Model = z
  .strictObject({
    description: z.string().optional(),
    artifacts: z.record(name('an artifact name'), z.string().min(1)).refine((a) => Object.keys(a).length > 0, 'a model needs at least one artifact'),
    evaluate: Evaluate.optional(),
    gates: z.array(Gate).default([]),
    canary_gates: z.array(Gate).default([]),
    checks: z.array(z.string().min(1)).optional(),
    environments: z.array(name('an environment name')).min(1).default(['staging', 'production']),
    policy: z.record(z.string().min(1), Policy).default({}),
  })
  .superRefine((model, ctx) => {
    const envs = new Set(model.environments);
    if (envs.size !== model.environments.length) ctx.addIssue({ code: 'custom', path: ['environments'], message: 'environments must be unique' });
    for (const [env, policy] of Object.entries(model.policy)) {
      if (!envs.has(env)) ctx.addIssue({ code: 'custom', path: ['policy', env], message: `unknown environment '${env}' (environments: ${model.environments.join(', ')})` });
      if (policy.requires !== undefined && !envs.has(policy.requires)) {
        ctx.addIssue({ code: 'custom', path: ['policy', env, 'requires'], message: `unknown environment '${policy.requires}'` });
      }
    }
    for (const [list, gates] of [['gates', model.gates], ['canary_gates', model.canary_gates]] as const) {
      gates.forEach((gate, i) => {
        if (gate.vs !== undefined && !envs.has(gate.vs)) {
          ctx.addIssue({ code: 'custom', path: [list, i, 'vs'], message: `unknown environment '${gate.vs}' (environments: ${model.environments.join(', ')})` });
        }
      });
    }
  });

export const Config = z
  .strictObject({
    $schema: z.string().optional(),
    version: z.literal(1, { message: 'version must be 1' }),
    store: StoreSetting.default('file://.mlship/store'),
    registry: z.string().min(1).default('.mlship/registry'),
    checks: z.record(name('a check name'), Check).default({}),
    models: z.record(name('a model name'), Model).default({}),
  })
  .superRefine((config, ctx) => {
    for (const [modelName, model] of Object.entries(config.models)) {
      model.checks?.forEach((check, i) => {
        if (!(check in config.checks)) ctx.addIssue({ code: 'custom', path: ['models', modelName, 'checks', i], message: `unknown check '${check}'` });
      });
    }
  });

export type Config = z.output<typeof Config>;
export type ModelConfig = z.output<typeof Model>;
export type GateConfig = z.output<typeof Gate>;
export type CheckConfig = z.output<typeof Check>;
export type ColumnRuleConfig = z.output<typeof ColumnRule>;
export type DriftCheckConfig = z.output<typeof DriftCheck>;
export type EvaluateConfig = z.output<typeof Evaluate>;
export type PredictionsConfig = z.output<typeof Predictions>;
export type PolicyConfig = z.output<typeof Policy>;
export type StoreSettingConfig = z.output<typeof StoreSetting>;
