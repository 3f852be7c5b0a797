# Clientele — the two commands are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
CDK       := npx --yes aws-cdk@2.1148.1
DATA      ?= .local
ADDR      ?= 127.0.0.1:8080
DYNAMODB_PORT ?= 8000
SQS_ADDR  ?= 127.0.0.1:9324
ROLE      ?= staff
SUB       ?=
SEED      ?= 1
MEMBERS   ?= 300
CDK_ARGS  ?=
LAMBDA_FLAGS = -trimpath -ldflags "-s -w" -tags lambda.norpc
# The runner and the seeder build as the runner builds the functions for the
# host (CGO_ENABLED=0, -trimpath), so the AWS SDK compiles once for all of them.
HOST_BUILD = CGO_ENABLED=0 $(GO) build -trimpath

.PHONY: help deps run test test-short bench lint build synth deploy diff token seed clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' \
		| sed -e 's|$$(ADDR)|$(ADDR)|g' -e 's|$$(DYNAMODB_PORT)|$(DYNAMODB_PORT)|g' -e 's|$$(SQS_ADDR)|$(SQS_ADDR)|g' \
		| expand -t 14
	@echo
	@echo "variables (make run ADDR=127.0.0.1:18080 ...): ADDR=$(ADDR) DYNAMODB_PORT=$(DYNAMODB_PORT) SQS_ADDR=$(SQS_ADDR) DATA=$(DATA)"
	@echo "  token: ROLE=$(ROLE) SUB=<member id>   seed: SEED=$(SEED) MEMBERS=$(MEMBERS)"
	@echo "  the shell's CLIENTELE_* variables reach every function: CLIENTELE_DEFAULT_PHONE_REGION=US make run"

deps: ## check Go, Java and npm; fetch DynamoDB Local into ~/.cache/clientele
	@command -v $(GO) >/dev/null || { echo "Go 1.26+ is required: https://go.dev/dl/" >&2; exit 1; }
	@command -v java >/dev/null || { echo "Java 11+ is required to run DynamoDB Local (e.g. apt-get install openjdk-17-jre-headless)" >&2; exit 1; }
	@command -v npm >/dev/null || { echo "npm is required to fetch DynamoDB Local and the CDK CLI (install Node.js 22+)" >&2; exit 1; }
	@.ci/fetch-dynamodb-local.sh
	@$(GO) mod download

run: deps ## start the whole system locally (API on http://$(ADDR), DynamoDB Local on :$(DYNAMODB_PORT), SQS on $(SQS_ADDR))
	@echo "building the runner (bin/clientele-local); the first start compiles for 2 to 3 minutes, later ones take seconds" >&2
	@$(HOST_BUILD) -o bin/clientele-local ./infra/local/cmd/clientele-local
	@exec bin/clientele-local run -data $(DATA) -addr $(ADDR) -dynamodb-port $(DYNAMODB_PORT) -sqs-addr $(SQS_ADDR)

test: deps lint ## run every test: unit, DynamoDB Local + SQS emulator integration, CDK assertions, end to end
	$(GO) test -race -count=1 -timeout 20m ./...

test-short: ## the fast tests only (no DynamoDB Local, CDK or end to end): go test -short on .ci/short-packages.sh
	$(GO) test -short -count=1 $$(.ci/short-packages.sh)

bench: deps ## run the benchmarks recorded in docs/benchmarks.md
	$(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 20m ./...

lint: ## gofmt, go vet and the import rules from docs/architecture.md
	@out="$$(gofmt -l functions infra shared)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@.ci/check-imports.sh

build: ## build arm64 bin/<function>/bootstrap for every function in the topology
	@set -e; $(GO) run ./infra/topology/cmd/functions -entries | while read -r name entry; do \
		echo "build $$name ($$entry)"; \
		rm -f bin/$$name/bootstrap; CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(LAMBDA_FLAGS) -o bin/$$name/bootstrap ./$$entry; \
	done

synth: build ## synthesize CloudFormation into cdk.out/ (no AWS account needed)
	$(CDK) synth --quiet $(CDK_ARGS)

diff: build ## compare the stack with what is deployed (needs AWS credentials)
	$(CDK) diff $(CDK_ARGS)

deploy: build ## deploy Clientele-<stage> to your AWS account: make deploy CDK_ARGS="-c stage=prod" (needs AWS credentials)
	$(CDK) deploy --require-approval broadening $(CDK_ARGS)

token: ## print a local dev JWT: make token ROLE=member|staff|service [SUB=<member id>]
	@$(HOST_BUILD) -o bin/clientele-local ./infra/local/cmd/clientele-local
	@bin/clientele-local token -data $(DATA) -role $(ROLE) $(if $(SUB),-sub $(SUB))

seed-population: ## write POPULATION generated members (and points statistics) into a running make run's DynamoDB, for segmentation (SEED=1 POPULATION=100000)
	@$(HOST_BUILD) -o bin/clientele-seed ./infra/local/cmd/clientele-seed
	@bin/clientele-seed -population $(or $(POPULATION),100000) -seed $(SEED) -dynamodb http://127.0.0.1:$(DYNAMODB_PORT)

seed: ## load demo members, purchases, returns, redemptions into a running make run (SEED=1 MEMBERS=300; re-runnable)
	@$(HOST_BUILD) -o bin/clientele-seed ./infra/local/cmd/clientele-seed
	@bin/clientele-seed -api http://$(ADDR) -data $(DATA) -seed $(SEED) -members $(MEMBERS) $(SEED_FLAGS)

clean: ## remove build output and local data (make run must be stopped): the documented reset
	rm -rf bin cdk.out $(DATA)
