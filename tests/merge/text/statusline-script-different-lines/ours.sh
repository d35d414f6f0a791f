#!/usr/bin/env bash
# statusline for Claude Code
input=$(cat)
model=$(echo "$input" | jq -r '.model.id')
dir=$(echo "$input" | jq -r '.workspace.current_dir')
branch=$(git -C "$dir" branch --show-current 2>/dev/null)

pct=$(echo "$input" | jq -r '.context_window.used_percentage // 0')
printf '%s | %s | %s | %s%%' "$model" "${dir##*/}" "$branch" "$pct"
