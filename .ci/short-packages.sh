#!/usr/bin/env bash
# Lists the packages `make test-short` runs: those whose tests need neither
# DynamoDB Local (shared/dynamo/dynamolocal, dynamotest), the CDK (jsii and
# node) nor a local stack of built function binaries (infra/local, imported
# by the end-to-end suites). infra/local's own unit tests run: its stack
# test skips itself under -short.
set -euo pipefail
go list -f '{{.ImportPath}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./... |
	awk '$1 == "clientele/infra/local" { print $1; next }
	{
		slow = 0
		for (i = 2; i <= NF; i++) {
			if ($i == "clientele/shared/dynamo/dynamotest" || $i == "clientele/shared/dynamo/dynamolocal" ||
				$i == "github.com/aws/aws-cdk-go/awscdk/v2" || $i == "clientele/infra/local") slow = 1
		}
		if (!slow) print $1
	}'
