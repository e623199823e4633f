/** The JSON Schema of mlship.yaml, generated from the zod schema (the single source of truth). */
import { z } from 'zod';
import { Config } from './schema.js';

export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(Config, { io: 'input', unrepresentable: 'any' }),
    $id: 'https://mlship.dev/schema/mlship.schema.json',
    title: 'mlship.yaml',
  };
}
