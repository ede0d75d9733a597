#!/bin/sh
# Prints the path of the pinned Claude Code CLI's native binary installed by
# scripts/install-cli.sh, or fails with a message when it is not installed.
exec "$(dirname "$0")/install-cli.sh" --path
