/**
 * Who is acting: the CI system's user where there is one, else git's user.email.
 * This is a claim, not an authentication: see the README ("What the actor is worth").
 */
type Env = Record<string, string | undefined>;

export function actorFromEnv(env: Env): string | undefined {
  const pick = (...keys: string[]) => keys.map((k) => env[k]).find((v) => v !== undefined && v.trim() !== '');
  if (env['GITHUB_ACTIONS'] === 'true') {
    const actor = pick('GITHUB_TRIGGERING_ACTOR', 'GITHUB_ACTOR');
    if (actor !== undefined) return `github:${actor}`;
  }
  if (env['GITLAB_CI'] === 'true') {
    const actor = pick('GITLAB_USER_EMAIL', 'GITLAB_USER_LOGIN');
    if (actor !== undefined) return actor.includes('@') ? actor : `gitlab:${actor}`;
  }
  if (env['CIRCLECI'] === 'true') {
    const actor = pick('CIRCLE_USERNAME');
    if (actor !== undefined) return `circleci:${actor}`;
  }
  if (env['BUILDKITE'] === 'true') {
    const actor = pick('BUILDKITE_BUILD_CREATOR_EMAIL', 'BUILDKITE_BUILD_CREATOR');
    if (actor !== undefined) return actor.includes('@') ? actor : `buildkite:${actor}`;
  }
  if (env['JENKINS_URL'] !== undefined) {
    const actor = pick('BUILD_USER_EMAIL', 'CHANGE_AUTHOR_EMAIL', 'BUILD_USER_ID');
    if (actor !== undefined) return actor.includes('@') ? actor : `jenkins:${actor}`;
  }
  return undefined;
}

/** `MLSHIP_ACTOR` > CI variables > git user.email > user@host. */
export function resolveActor(env: Env, gitEmail: string | undefined, fallback: string): string {
  const explicit = env['MLSHIP_ACTOR'];
  if (explicit !== undefined && explicit.trim() !== '') return explicit.trim();
  return actorFromEnv(env) ?? gitEmail ?? fallback;
}
