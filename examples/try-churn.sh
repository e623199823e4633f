#!/bin/sh
# Run mlship's main job on the churn example, in a scratch git repository (your clone stays untouched).
# Usage: npm run example   (or: sh examples/try-churn.sh [DIR])
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$(mktemp -d "${TMPDIR:-/tmp}/mlship-churn.XXXXXX")}
mkdir -p "$dir"
cp -R "$here/examples/churn/." "$dir/"
cd "$dir"
git init -q
git config user.email "${GIT_AUTHOR_EMAIL:-you@example.com}"
git config user.name "${GIT_AUTHOR_NAME:-mlship example}"
git add -A && git commit -qm "churn example"
mlship() { node "$here/bin/mlship" "$@"; }
echo "\$ mlship validate";                      mlship validate
echo "\$ mlship run";                           mlship run
echo "\$ mlship promote churn@1 --to staging";  mlship promote churn@1 --to staging
echo "\$ mlship status";                        mlship status
echo
echo "The example project is in $dir: cd there and try promote, rollback, history, diff and verify."
