// Command infra is the Clientele CDK app. cdk.json runs it ("go run ./infra")
// from the module root, where `make build` leaves bin/<function>/bootstrap.
//
// Context (cdk synth -c key=value, or cdk.json):
//
//	stage            deployment stage (default dev): the stack is Clientele-<stage>
//	jwtIssuer        issuer URL of an existing identity provider
//	jwtAudience      accepted audience(s), comma-separated
//	jwtMemberClaim   claim holding the member id in that provider's tokens (default sub)
//	jwtGroupsClaim   claim(s) listing groups, comma-separated (default cognito:groups,groups)
//
// Given jwtIssuer and jwtAudience, the HTTP API trusts that provider and no
// Cognito user pool is created (docs/operations.md explains the mapping).
// Every stack is checked with cdk-nag's AwsSolutions and ServerlessChecks
// packs; their findings fail `cdk synth`.
//
// The stack is environment-agnostic (no account or region at synth time,
// nothing looked up), so synthesizing needs no AWS account; `cdk deploy`
// supplies both from the credentials it runs with.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"clientele/infra/topology"
)

func main() {
	err := run()
	jsii.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		os.Exit(1)
	}
}

// run builds and synthesizes the app.
func run() error {
	app := awscdk.NewApp(nil)
	system := topology.Clientele()
	if err := system.Complete(); err != nil {
		return err
	}
	if err := checkBinaries(system); err != nil {
		return err
	}
	issuer := contextStrings(app, "jwtIssuer")
	audience := contextStrings(app, "jwtAudience")
	if (len(issuer) == 0) != (len(audience) == 0) {
		return errors.New("context: give both jwtIssuer and jwtAudience to use an existing identity provider, or neither to create a Cognito user pool")
	}
	if len(issuer) > 1 {
		return errors.New("context: jwtIssuer takes one issuer URL")
	}
	stage, err := stageOf(app)
	if err != nil {
		return err
	}
	props := &ClienteleStackProps{System: system, JWTAudience: audience, Stage: stage}
	if len(issuer) == 1 {
		props.JWTIssuer = issuer[0]
		props.MemberClaim = strings.Join(contextStrings(app, "jwtMemberClaim"), ",")
		props.GroupsClaim = strings.Join(contextStrings(app, "jwtGroupsClaim"), ",")
	} else if len(contextStrings(app, "jwtMemberClaim"))+len(contextStrings(app, "jwtGroupsClaim")) > 0 {
		return errors.New("context: jwtMemberClaim and jwtGroupsClaim map a brand's own identity provider; give jwtIssuer and jwtAudience too")
	}
	NewClienteleStack(app, StackName(stage), props)
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	awscdk.Aspects_Of(app).Add(cdknag.NewServerlessChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	app.Synth(nil)
	return nil
}

// StackName is the stack of a stage: Clientele-<stage>.
func StackName(stage string) string { return "Clientele-" + stage }

// stageOf reads the stage context: lower-case letters, digits and hyphens,
// starting with a letter, at most 20 characters (it names the stack and
// the Cognito domain); "dev" when absent.
func stageOf(app awscdk.App) (string, error) {
	values := contextStrings(app, "stage")
	if len(values) == 0 {
		return "dev", nil
	}
	if len(values) > 1 || !validStage(values[0]) {
		return "", fmt.Errorf("context: stage %q must be lower-case letters, digits and hyphens, starting with a letter, at most 20 characters", strings.Join(values, ","))
	}
	return values[0], nil
}

// validStage reports whether a stage name is usable in every name it enters.
func validStage(stage string) bool {
	if stage == "" || len(stage) > 20 || stage[0] < 'a' || stage[0] > 'z' {
		return false
	}
	for _, r := range stage {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// checkBinaries reports a missing bootstrap before CDK fails on it with a
// less helpful message.
func checkBinaries(system topology.System) error {
	var missing []string
	for _, f := range system.Functions {
		path := filepath.Join(BinaryDir(f.Name), "bootstrap")
		if _, err := os.Stat(path); err != nil {
			missing = append(missing, path)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s not found: run `make build` first (cdk runs this app from the module root)", strings.Join(missing, ", "))
	}
	return nil
}

// contextStrings reads a context value given as a comma-separated string
// (the command line) or a list of strings (cdk.json); absent means nil.
func contextStrings(app awscdk.App, key string) []string {
	var values []string
	switch v := app.Node().TryGetContext(jsii.String(key)).(type) {
	case string:
		values = strings.Split(v, ",")
	case []interface{}:
		for _, item := range v {
			values = append(values, fmt.Sprint(item))
		}
	}
	var out []string
	for _, value := range values {
		if value = strings.TrimSpace(value); value != "" {
			out = append(out, value)
		}
	}
	return out
}
