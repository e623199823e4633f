/** `--push` and `mlship push-registry`: what the registry needs to publish from this project. */
import type { Project } from '../project.js';
import { replayEvent } from '../registry/decide.js';
import type { PublishSettings } from '../registry/log.js';

/** The publish settings for `--push` (undefined without it): local events are replayed with the project's config. */
export async function publishSettings(project: Project, push: boolean | undefined): Promise<PublishSettings | undefined> {
  if (push !== true) return undefined;
  const branch = await (await project.git()).branch();
  return { replay: (event, state) => replayEvent(event, state, project.model(event.model)[1], branch) };
}
