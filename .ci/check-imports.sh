#!/usr/bin/env bash
# The import rules from docs/architecture.md, checked with go list -deps:
# - functions never import infra (so jsii/CDK stays out of Lambda binaries) or each other;
# - shared never imports functions or infra;
# - domain packages import no AWS package.
set -euo pipefail
fail=0
for pkg in $(go list ./functions/...); do
	deps="$(go list -deps "$pkg")"
	if grep -qE '^(clientele/infra|github.com/aws/aws-cdk-go|github.com/aws/jsii-runtime-go)' <<<"$deps"; then
		echo "$pkg depends on infra or the CDK"; fail=1
	fi
	own="${pkg#clientele/}"; own="${own%%/*}"
	if grep -E '^clientele/functions/' <<<"$deps" | grep -vq "^$pkg$"; then
		echo "$pkg imports another function package"; fail=1
	fi
done
for pkg in $(go list ./shared/...); do
	if go list -deps "$pkg" | grep -qE '^clientele/(functions|infra)'; then
		echo "$pkg (shared) depends on functions or infra"; fail=1
	fi
done
for pkg in clientele/shared/member clientele/shared/points clientele/shared/event clientele/shared/idempotency clientele/shared/fault clientele/shared/survey; do
	if go list -deps "$pkg" | grep -qE '^github.com/aws/'; then
		echo "$pkg is a domain package but depends on an AWS package"; fail=1
	fi
done
# segmentation's domain core and its generator, and the sweep engine
for pkg in clientele/shared/segment clientele/shared/segment/membergen clientele/shared/sweep clientele/shared/sweep/sweepmem; do
	if go list -deps "$pkg" | grep -qE '^github.com/aws/'; then
		echo "$pkg is a domain package but depends on an AWS package"; fail=1
	fi
done
for pkg in $(go list ./infra/...); do
	if go list -deps "$pkg" | grep -qE '^clientele/functions'; then
		echo "$pkg (infra) depends on function code"; fail=1
	fi
done
[ "$fail" = 0 ] && echo "import rules hold"
exit "$fail"
