/** Writing to the registry on behalf of a project: its git, its user's warnings, and `--push`. */
import type { Project } from '../project.js';
import { replayEvent } from '../registry/decide.js';
import { appendEvent, type AppendResult, type PublishSettings } from '../registry/log.js';
import type { NewEvent } from '../registry/events.js';
import type { ModelState } from '../registry/state.js';

/** The publish settings for `--push` (undefined without it): local events are replayed with the project's config. */
export async function publishSettings(project: Project, push: boolean | undefined): Promise<PublishSettings | undefined> {
  if (push !== true) return undefined;
  const branch = await (await project.git()).branch();
  return { replay: (event, state) => replayEvent(event, state, project.model(event.model)[1], branch) };
}

/** Append the event `build` makes from the fresh state (inside the lock); with `push`, publish it. */
export async function appendProjectEvent(project: Project, model: string, build: (state: ModelState) => NewEvent, push: boolean | undefined): Promise<AppendResult> {
  return appendEvent(project.registry, model, {
    git: await project.git(),
    shownRoot: project.ctx.cwd,
    onWarning: project.ctx.warn,
    push: await publishSettings(project, push),
    build,
  });
}
