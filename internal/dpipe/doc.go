// Package dpipe implements dpipe, VDE's "dual pipe" (vdeplug4 4.0.1), as a
// library: a front-end calls [Main] with the command-line arguments.
//
//	dpipe [OPTIONS] cmd1 [args] = cmd2 [args] [= cmd3 [args] ...]
//
// dpipe runs every command as its child, in its own process group, and
// connects them with real pipe(2) FIFOs: cmd1's stdout feeds cmd2's stdin
// and cmd2's stdout feeds cmd1's stdin. A middle command of a longer chain
// talks to its left neighbour on stdin/stdout and to its right neighbour on
// the "alternate" descriptors whose numbers are exported to every child in
// the environment variables ALTERNATE_STDIN and ALTERNATE_STDOUT (normally
// 3 and 4). "a =} b }= c" makes b a filter of the left-to-right direction
// only (a→b→c→a) and "a ={ b {= c" one of the right-to-left direction
// (a→c→b→a). dpipe waits for all its children and exits with the status of
// the last command.
//
// Behaviour follows the original (see the project's spec, "dpipe"), with
// these deliberate differences, each also noted where it is implemented:
//
//   - -h/--help prints the usage and returns 255 (the original's exit(-1))
//     without first sending SIGTERM to the caller's whole process group,
//     which the original does by accident (the shell then sees 143).
//   - A last command killed by a signal yields 128+signal; the original
//     reports 0 (WEXITSTATUS of a signalled child).
//   - Usage errors in the command chain are detected before anything is
//     started; like the original, the usage is printed and the status is 0
//     (the original reaches 0 by SIGTERMing its own new process group and
//     exiting from the handler; nothing is signalled here).
//   - -d/--daemon cannot fork the Go runtime: the process re-executes
//     itself (/proc/self/exe with the same os.Args, in a new session, in
//     "/", with stdio on /dev/null, marked by an environment variable) and
//     returns 0, just as daemon(0,0)'s parent exits 0. The front-end must
//     therefore route the same os.Args to Main again.
//   - -n/--nowrapproc really execs the last command in place
//     (syscall.Exec, so it keeps dpipe's pid as in the original); the
//     original's forked pid/pgrp-file cleanup helper is a re-execution of
//     the current binary, too.
//   - Children inherit the signals the original ignores (SIGPIPE, SIGALRM,
//     SIGUSR1/2, SIGVTALRM, SIGIO, SIGPWR) as ignored, except SIGPROF and
//     SIGSTKFLT, which the Go runtime will not ignore.
//   - An empty argument never acts as a separator (the original reads past
//     its end, see splitIndex).
//   - Signals received while the chain is being started are acted upon
//     once every command has been started.
//   - A command that cannot be executed leaves the pid files alone (the
//     original's failing child runs the atexit cleanup and removes them
//     early).
package dpipe
