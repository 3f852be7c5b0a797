package local

import "strings"

// shellEnvPrefix marks the variables `make run` passes from the shell to
// every function.
const shellEnvPrefix = "CLIENTELE_"

// runnerOnlyEnv lists CLIENTELE_ variables that configure the runner or the
// tests rather than the functions; ShellEnv leaves them out.
var runnerOnlyEnv = map[string]bool{
	"CLIENTELE_DYNAMODB_ENDPOINT": true, // clientele-local run -dynamodb-endpoint
	"CLIENTELE_CACHE":             true, // where DynamoDB Local is cached
}

// ShellEnv picks from environ (os.Environ's KEY=VALUE form) the CLIENTELE_*
// variables a developer set in the shell, for Config.ExtraEnv: they add to
// or override the topology's environment of every function, so
// `CLIENTELE_DEFAULT_PHONE_REGION=US make run` or a shorter return window in
// CLIENTELE_POINTS_POLICY reaches the functions. Variables of the runner
// itself (CLIENTELE_DYNAMODB_ENDPOINT, CLIENTELE_CACHE) and of the tests
// (CLIENTELE_TEST_*) are left out, and so are empty values. Nothing else of
// the shell's environment is passed: AWS_* in particular never is, so a
// developer's AWS profile cannot reach a real account.
func ShellEnv(environ []string) map[string]string {
	out := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" || !strings.HasPrefix(k, shellEnvPrefix) || len(k) == len(shellEnvPrefix) {
			continue
		}
		if runnerOnlyEnv[k] || strings.HasPrefix(k, shellEnvPrefix+"TEST_") {
			continue
		}
		out[k] = v
	}
	return out
}
