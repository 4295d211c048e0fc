#!/usr/bin/env bash
# make demo: an overnight-style batch through the real supervisor, in a temporary folder.
# 30 `enrich` jobs (a fake LLM command line, 10% failed attempts, an MCP-like helper left
# behind by every run) and 20 `ingest` jobs in 4 namespaces, under a composed policy
# (contrib/demo.json): global 4, enrich 2, pools llm-api 3 and cpu 2, ingest a singleton per
# namespace. Then the batch report, and a check that no process was left behind.
set -euo pipefail
jobq=$(realpath "${1:-build/cli/jobq}")
contrib=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/jobq-demo.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir"
cp "$contrib/demo.json" jobq.json
export PATH="$contrib:$PATH"
unset JOBQ_DB JOBQ_CONFIG

echo "== jobq demo in $dir"
echo "== policy: global 4, enrich 2, pools llm-api 3 / cpu 2, ingest singleton per namespace"
for i in $(seq 1 30); do printf '{"title": "article %d"}\n' "$i"; done |
	"$jobq" enqueue enrich --batch demo --jsonl -
for i in $(seq 1 20); do printf '{"title": "document %d"}\n' "$i"; done |
	"$jobq" enqueue ingest --batch demo --namespace "shard-$((RANDOM % 4))" --jsonl - >/dev/null
for ns in 1 2 3; do
	for i in $(seq 1 5); do printf '{"title": "document %d.%d"}\n' "$ns" "$i"; done |
		"$jobq" enqueue ingest --batch demo --namespace "shard-$ns" --jsonl - >/dev/null
done
echo "== enqueued $("$jobq" list --batch demo --json | jq length) jobs in batch 'demo'"
echo "== jobq supervise --drain"
"$jobq" supervise --drain 2>supervisor.log &
sup=$!
"$jobq" wait --batch demo --progress || true
wait "$sup"
echo
echo "== batch report"
"$jobq" status
echo
"$jobq" list --batch demo --limit 8
retried=$("$jobq" list --batch demo --json | jq '[.[] | select(.attempts > 1)] | length')
reaped=$("$jobq" list --batch demo --json | jq '[.[].orphans_reaped] | add')
echo
echo "== $retried jobs needed more than one attempt (a failed attempt, retried with backoff)"
echo "== $reaped orphaned helper processes were reaped"
left=$(pgrep -c -f fake-mcp-server || true)
echo "== processes left behind: $left fake MCP servers, $(pgrep -c -f "jobq: worker" || true) workers"
[ "$left" -eq 0 ] || { echo "demo: processes were left behind" >&2; exit 1; }
"$jobq" wait --batch demo >/dev/null && echo "== every job succeeded"
