// Command clientele-local runs Clientele on this machine without AWS.
//
//	clientele-local run   [-data .local] [-addr 127.0.0.1:8080] [...]   start everything (make run)
//	clientele-local token -role member|staff|service [-sub ID] [-data .local] [-ttl 12h]
//	clientele-local plan                                                 print what run would serve, as JSON
//
// run builds every function for this machine, starts DynamoDB Local (data
// kept in <data>/dynamodb) and an in-process SQS (goaws; queues are in
// memory and start empty), runs each function's real bootstrap under a local
// Lambda Runtime API, and plays API Gateway, the SQS event source mappings
// and the schedules in front of them. Ctrl-C stops it all. The shell's
// CLIENTELE_* variables (CLIENTELE_DEFAULT_PHONE_REGION,
// CLIENTELE_POINTS_POLICY, CLIENTELE_LOG_LEVEL, ...) reach every function,
// over the topology's; -env KEY=VALUE wins over both.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"clientele/infra/local"
	"clientele/infra/topology"
)

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = run(os.Args[2:])
	case "token":
		err = token(os.Args[2:])
	case "plan":
		err = plan(os.Args[2:])
	case "-h", "-help", "--help", "help":
		usage(os.Stdout)
		return
	default:
		usage(os.Stderr)
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "clientele-local:", err)
		os.Exit(1)
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  clientele-local run   [-data .local] [-addr 127.0.0.1:8080] [-sqs-addr 127.0.0.1:9324] [-dynamodb-port 8000]
                        [-dynamodb-endpoint URL] [-instances 4] [-env KEY=VALUE]... [-v]
  clientele-local token -role member|staff|service [-sub ID] [-data .local] [-ttl 12h]
  clientele-local plan
Run "clientele-local <command> -h" for a command's flags.
`)
}

// envFlags collects repeated -env KEY=VALUE flags.
type envFlags map[string]string

func (e envFlags) String() string { return fmt.Sprint(map[string]string(e)) }

func (e envFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	e[k] = val
	return nil
}

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	dataDir := fs.String("data", ".local", "directory keeping DynamoDB data and the dev issuer key across restarts")
	apiAddr := fs.String("addr", "127.0.0.1:8080", "address of the HTTP API")
	sqsAddr := fs.String("sqs-addr", "127.0.0.1:9324", "address of the SQS endpoint (goaws)")
	dynamoPort := fs.Int("dynamodb-port", 8000, "port of DynamoDB Local (0: any free port)")
	dynamoEndpoint := fs.String("dynamodb-endpoint", os.Getenv("CLIENTELE_DYNAMODB_ENDPOINT"),
		"use this DynamoDB endpoint instead of starting DynamoDB Local (default $CLIENTELE_DYNAMODB_ENDPOINT)")
	root := fs.String("root", "", "module root (default: the module holding the working directory)")
	instances := fs.Int("instances", local.DefaultMaxInstances, "processes per function at most")
	verbose := fs.Bool("v", false, "log the runner at debug level")
	extra := envFlags{}
	fs.Var(extra, "env", "extra KEY=VALUE for every function (repeatable; wins over the shell's CLIENTELE_* variables)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// The shell's CLIENTELE_* variables reach every function; -env wins.
	for k, v := range local.ShellEnv(os.Environ()) {
		if _, set := extra[k]; !set {
			extra[k] = v
		}
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sys := topology.Clientele()
	stack, err := local.Start(ctx, local.Config{
		Root:             *root,
		System:           sys,
		DataDir:          *dataDir,
		APIAddr:          *apiAddr,
		SQSAddr:          *sqsAddr,
		DynamoDBEndpoint: *dynamoEndpoint,
		DynamoDBPort:     *dynamoPort,
		Log:              os.Stderr,
		LogLevel:         level,
		ExtraEnv:         extra,
		MaxInstances:     *instances,
	})
	if err != nil {
		return err
	}
	printSummary(os.Stdout, stack, *dataDir)
	<-ctx.Done()
	stop() // a second Ctrl-C now kills the runner outright
	fmt.Fprintln(os.Stderr, "stopping...")
	return stack.Close()
}

// printSummary says where everything listens and how to call it.
func printSummary(w io.Writer, stack *local.Stack, dataDir string) {
	p := stack.Plan()
	fmt.Fprintf(w, "\nClientele is running locally.\n\n")
	section(w, func(tw io.Writer) {
		fmt.Fprintf(tw, "HTTP API\t%s\tJWKS at /.well-known/jwks.json\n", stack.APIURL)
		fmt.Fprintf(tw, "DynamoDB\t%s\tdata in %s\n", stack.DynamoDBEndpoint, filepath.Join(dataDir, "dynamodb"))
		fmt.Fprintf(tw, "SQS\t%s\tgoaws, in memory: queues start empty\n", stack.SQSEndpoint)
		for _, q := range p.Queues {
			consumer := "no consumer yet"
			if q.Consumer != "" {
				consumer = "consumed by " + q.Consumer
			}
			fmt.Fprintf(tw, "queue %s\t%s\t%s\n", q.Name, stack.QueueURL(q.Name), consumer)
			fmt.Fprintf(tw, "queue %s\t%s\tafter %d receives\n", q.DeadLetterQueue, stack.QueueURL(q.DeadLetterQueue), q.MaxReceiveCount)
		}
	})
	section(w, func(tw io.Writer) {
		for _, f := range p.Functions {
			fmt.Fprintf(tw, "function %s\t./%s\t%d MB, %s timeout\n", f.Name, f.Entry, f.MemoryMB, f.Timeout)
		}
	})
	section(w, func(tw io.Writer) {
		for _, r := range p.Routes {
			public := ""
			if !r.Authorized {
				public = "\t(public: no token; the request carries its own credential)"
			}
			fmt.Fprintf(tw, "%s\t→ %s%s\n", r.Key, r.Function, public)
		}
	})
	section(w, func(tw io.Writer) {
		for _, s := range p.Schedules {
			zone := s.TimeZone
			if zone == "" {
				zone = "UTC"
			}
			fmt.Fprintf(tw, "schedule %s\t%q %s → %s\tfire now: curl -X POST %s\n", s.Name, s.Cron, zone, s.Function, stack.ScheduleURL(s.Name))
		}
	})
	fmt.Fprintf(w, `Tokens (signed by the dev issuer key in %[1]s; iss %[2]q, aud %[3]q):
  TOKEN=$(make -s token ROLE=staff DATA=%[1]s)
  curl -H "Authorization: Bearer $TOKEN" %[4]s/v1/members/<id>
  (ROLE=member SUB=<member id>, or ROLE=service for a point-of-sale client;
   a rejected token's reason is in this log: "token rejected")
Demo data: make seed ADDR=%[5]s DATA=%[1]s (a few hundred members with purchases, returns, redemptions)
Ctrl-C stops everything.
`, dataDir, local.IssuerName, local.Audience, stack.APIURL, strings.TrimPrefix(stack.APIURL, "http://"))
}

// section prints aligned columns followed by a blank line, if anything.
func section(w io.Writer, rows func(tw io.Writer)) {
	var buf strings.Builder
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	rows(tw)
	tw.Flush()
	if buf.Len() > 0 {
		fmt.Fprintln(w, buf.String())
	}
}

func token(args []string) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	role := fs.String("role", "", "member, staff or service")
	sub := fs.String("sub", "", "subject: the member id for member tokens (staff and service have defaults)")
	dataDir := fs.String("data", ".local", "data directory holding the dev issuer key (created if absent)")
	ttl := fs.Duration("ttl", 12*time.Hour, "lifetime of the token")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *role == "" {
		return errors.New("token: -role member|staff|service is required")
	}
	if topology.Caller(*role) == topology.Member && *sub == "" {
		return errors.New("token: -role member needs -sub <member id>")
	}
	issuer, err := local.OpenIssuer(*dataDir)
	if err != nil {
		return err
	}
	tok, err := issuer.Token(topology.Caller(*role), *sub, *ttl)
	if err != nil {
		return err
	}
	fmt.Println(tok)
	return nil
}

func plan(args []string) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(local.Plan(topology.Clientele()))
}
