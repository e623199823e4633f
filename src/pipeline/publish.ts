/** `--push`: send the registry commits to the remote. */
import type { Project } from '../project.js';

export async function pushRegistry(project: Project): Promise<void> {
  const git = await project.git();
  await git.push(undefined);
}
