// Package inject decides what the child receives and how it runs.
//
// # The environment is a value
//
// The child's environment is an Env, built from os.Environ() once, then
// edited (env files applied, stale credential variables unset, azexec's own
// variables set) and finally handed to exec whole. azexec never calls
// os.Setenv: its own environment is an input, not a scratch pad, so what the
// child receives is exactly one value that tests can build and inspect, and
// a variable azexec did not mean to pass on cannot leak through process
// state. Every variable remembers its Origin (process, an env file and line,
// or azexec) so reports can say where a value came from without showing it.
//
// No value ever appears in an error or a log line from this package: they
// name variables, files, lines and commands, never what a variable holds,
// and never the command's arguments.
//
// # Precedence
//
// Later wins, in this order:
//
//  1. the process environment (for a name given twice, the later entry);
//  2. each --env-file, in command-line order; within a file, the later
//     assignment;
//  3. what azexec itself sets for the resolved identity.
//
// Env files use godotenv's syntax (ReadEnvFile). A ${NAME} in a value names
// an earlier assignment of the same file, as in godotenv; it does not read
// the process environment.
//
// # Exec or supervise
//
// Run either replaces azexec with the child (RunOptions.Replace: execve on
// Unix), so the child owns the PID (PID 1 in a container), the terminal and
// every signal, and azexec leaves nothing running; or it supervises: starts
// the child, relays signals, waits and returns the child's status. In both
// modes PATH is read from the child's environment, not azexec's.
//
// A supervised child stays in azexec's process group, so the terminal treats
// the pair as one job: Ctrl-C, Ctrl-\, window resizes, Ctrl-Z and fg reach
// the child directly. azexec forwards exactly SIGHUP, SIGINT, SIGQUIT,
// SIGTERM, SIGUSR1, SIGUSR2 and SIGWINCH, never every signal (SIGURG is Go's
// own, SIGCHLD and SIGPIPE are azexec's). SIGINT, SIGQUIT and SIGWINCH are
// the terminal's: they are forwarded only when azexec is not in its
// terminal's foreground group, since otherwise the child has already
// received them and Ctrl-C would arrive twice. A signal azexec inherited as
// ignored (nohup) is left ignored for the child too. Forwarding stops when
// the child exits.
//
// Supervision is a Child (child.go) that is never restarted; --watch
// restarts one when a secret rotates. Each start has its own context, so
// a restart is a cancel (the stop signal, a grace period, SIGKILL), the
// forwarder outlives restarts and relays to whichever process is current,
// and only a process that ends by itself ends the Child.
//
// # Masked output
//
// With RunOptions.Mask, azexec supervises and passes the child's stdout and
// stderr through package mask (masked.go): two pipes of azexec's own
// (maskpipes.go), or, where azexec's stdout or stderr is a terminal, a
// pseudo-terminal (pty_unix.go), in a session of its own with azexec's
// terminal in raw mode when stdin is a terminal too. Signals and the exit
// status are as above; a child in a session of its own gets SIGINT and
// SIGQUIT forwarded too, since no key of azexec's terminal reaches it.
// Plain masked supervision is superviseWith; under --watch a masked child
// is a Child that gives each process masked pipes of its own.
//
// # Exit statuses
//
// Run returns the status azexec should exit with, by the shell's rules:
// the child's exit code; 128+N when signal N killed it (143 for SIGTERM,
// 130 for SIGINT); 127 when the command is not found on the child's PATH;
// 126 when it is found but cannot be executed (no execute permission, a
// directory, a bad #! line). These last two come with a fail.Error of kind
// fail.NotFound or fail.NotExecutable, and match what a shell would return,
// so a script reads `azexec -- cmd` as it would read `cmd`. A supervised
// child stopped because ctx was done returns its status and ctx's error.
package inject
