# Clientele — the two commands are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
CDK       := npx --yes aws-cdk@2.1148.1
DATA      ?= .local
ADDR      ?= 127.0.0.1:8080
ROLE      ?= staff
SUB       ?=
LAMBDA_FLAGS = -trimpath -ldflags "-s -w" -tags lambda.norpc

.PHONY: help deps run test test-short bench lint build synth deploy diff token clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

deps: ## check Go, Java and npm; fetch DynamoDB Local into ~/.cache/clientele
	@command -v $(GO) >/dev/null || { echo "Go 1.26+ is required: https://go.dev/dl/" >&2; exit 1; }
	@command -v java >/dev/null || { echo "Java 11+ is required to run DynamoDB Local (e.g. apt-get install openjdk-17-jre-headless)" >&2; exit 1; }
	@command -v npm >/dev/null || { echo "npm is required to fetch DynamoDB Local and the CDK CLI (install Node.js 18+)" >&2; exit 1; }
	@.ci/fetch-dynamodb-local.sh
	@$(GO) mod download

run: deps ## start the whole system locally (API on http://$(ADDR))
	@$(GO) build -o bin/clientele-local ./infra/local/cmd/clientele-local
	@exec bin/clientele-local run -data $(DATA) -addr $(ADDR)

test: deps lint ## run every test: unit, DynamoDB Local + SQS emulator integration, CDK assertions, end to end
	$(GO) test -race -count=1 -timeout 20m ./...

bench: deps ## run the benchmarks recorded in docs/benchmarks.md
	$(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 20m ./...

lint: ## gofmt, go vet and the import rules from DESIGN.md
	@out="$$(gofmt -l functions infra shared)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@.ci/check-imports.sh

build: ## build arm64 bin/<function>/bootstrap for every function in the topology
	@set -e; $(GO) run ./infra/topology/cmd/functions -entries | while read -r name entry; do \
		echo "build $$name ($$entry)"; \
		rm -f bin/$$name/bootstrap; CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(LAMBDA_FLAGS) -o bin/$$name/bootstrap ./$$entry; \
	done

synth: build ## synthesize CloudFormation into cdk.out/ (no AWS account needed)
	$(CDK) synth --quiet

diff: build ## compare the stack with what is deployed (needs AWS credentials)
	$(CDK) diff

deploy: build ## deploy to the AWS account of your credentials (needs AWS credentials)
	$(CDK) deploy --require-approval broadening

token: ## print a local dev JWT: make token ROLE=member|staff|service [SUB=<member id>]
	@$(GO) build -o bin/clientele-local ./infra/local/cmd/clientele-local
	@bin/clientele-local token -data $(DATA) -role $(ROLE) $(if $(SUB),-sub $(SUB))

clean: ## remove build output and local data
	rm -rf bin cdk.out $(DATA)
