package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/azexec/azexec/internal/fail"
)

// checkOutputPath refuses an output file inside a git work tree that git
// does not ignore: a rendered secret must not be one `git add .` away
// from the repository. With force it returns a warning instead.
//
// git is found on azexec's own PATH (trusted) and run with a minimal
// environment, so it sees none of azexec's credentials. Without git, a
// .git entry in the file's directory or above counts as a work tree whose
// ignore rules cannot be read, which is refused too.
func checkOutputPath(path string, force bool) (warning string, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fail.New(fail.Usage, "cannot resolve %q", path).Wrap(err)
	}
	dir := filepath.Dir(abs)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", fail.New(fail.Usage, "cannot write %q: its directory does not exist", path)
	}
	tracked, reason := gitExposes(dir, abs)
	if !tracked {
		return "", nil
	}
	if force {
		return "writing secrets to " + strconv.Quote(path) + ", which " + reason + " (--force)", nil
	}
	return "", fail.New(fail.Usage, "refusing to write secrets to %q: it %s", path, reason).
		WithHint("add it to .gitignore (echo %s >> .gitignore), write it outside the repository, "+
			"or give it to the program in memory with azexec --file VAR=TEMPLATE -- COMMAND; --force writes it anyway",
			shellQuote(filepath.Base(path)))
}

// gitExposes reports whether file lies in a git work tree without being
// ignored, and says so in words.
func gitExposes(dir, file string) (bool, string) {
	git, err := exec.LookPath("git")
	if err != nil {
		if root := dotGitAbove(dir); root != "" {
			return true, "is inside the git work tree " + strconv.Quote(root) + " and git is not installed to tell whether it ignores it"
		}
		return false, ""
	}
	run := func(args ...string) (string, int) {
		cmd := exec.Command(git, append([]string{"-C", dir}, args...)...)
		cmd.Env = gitEnviron()
		out, err := cmd.Output()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return "", exit.ExitCode()
		}
		if err != nil {
			return "", -1
		}
		return strings.TrimSpace(string(out)), 0
	}
	root, code := run("rev-parse", "--show-toplevel")
	if code != 0 || root == "" {
		return false, "" // not a work tree (or a bare repository)
	}
	switch _, code := run("check-ignore", "-q", "--", file); code {
	case 0:
		return false, ""
	case 1:
		return true, "is inside the git work tree " + strconv.Quote(root) + " and git does not ignore it"
	}
	return true, "is inside the git work tree " + strconv.Quote(root) + " and git check-ignore failed"
}

// gitEnviron is git's environment: what it needs to find its own
// configuration and the repository, and nothing of azexec's.
func gitEnviron() []string {
	env := []string{"LC_ALL=C", "GIT_TERMINAL_PROMPT=0"}
	for _, k := range []string{"PATH", "HOME", "XDG_CONFIG_HOME", "GIT_DIR", "GIT_WORK_TREE",
		"GIT_CEILING_DIRECTORIES", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// dotGitAbove returns the nearest directory at or above dir holding .git.
func dotGitAbove(dir string) string {
	for {
		if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
