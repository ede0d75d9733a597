#!/bin/sh
# Prints the path of the Claude Code CLI installed by scripts/install-cli.sh
# (the pinned version, or VERSION: `scripts/cli-path.sh 2.0.77`), or fails
# with a message when it is not installed.
exec "$(dirname "$0")/install-cli.sh" --path "$@"
