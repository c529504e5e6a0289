package main

import (
	"testing"
	"time"

	"github.com/azexec/azexec/internal/watch"
)

func TestWatchSetting(t *testing.T) {
	for in, want := range map[string]watchSetting{
		"true": {true, watch.DefaultInterval}, "1": {true, watch.DefaultInterval},
		"30s": {true, 30 * time.Second}, "10m": {true, 10 * time.Minute},
		"false": {}, "0": {}, "": {},
	} {
		var w watchSetting
		if err := w.Set(in); err != nil || w != want {
			t.Errorf("Set(%q) = %+v, %v; want %+v", in, w, err, want)
		}
	}
	for _, bad := range []string{"soon", "30", "-"} {
		var w watchSetting
		if err := w.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
}

func TestWatchPlan(t *testing.T) {
	ok := globalOptions{Watch: watchSetting{true, time.Minute}, WatchSignal: "TERM", WatchGrace: time.Second}
	if w, err := watchPlan(ok); err != nil || !w.on || w.reload != nil {
		t.Errorf("watchPlan(%+v) = %+v, %v", ok, w, err)
	}
	reload := ok
	reload.WatchReload, reload.Files = "sighup", []string{"CONF=app.tmpl"}
	if w, err := watchPlan(reload); err != nil || w.reload == nil {
		t.Errorf("watchPlan(%+v) = %+v, %v", reload, w, err)
	}
	for name, g := range map[string]globalOptions{
		"too short":        {Watch: watchSetting{true, time.Second}, WatchSignal: "TERM", WatchGrace: time.Second},
		"negative":         {Watch: watchSetting{true, -time.Minute}, WatchSignal: "TERM", WatchGrace: time.Second},
		"bad signal":       {Watch: watchSetting{true, time.Minute}, WatchSignal: "15", WatchGrace: time.Second},
		"bad reload":       {Watch: watchSetting{true, time.Minute}, WatchSignal: "TERM", WatchGrace: time.Second, WatchReload: "RELOAD", Files: []string{"C=t"}},
		"reload, no file":  {Watch: watchSetting{true, time.Minute}, WatchSignal: "TERM", WatchGrace: time.Second, WatchReload: "HUP"},
		"no grace":         {Watch: watchSetting{true, time.Minute}, WatchSignal: "TERM"},
		"reload, no watch": {WatchExtras: []string{"watch-reload"}},
	} {
		if _, err := watchPlan(g); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzWatchSetting: any text is refused, or read as off, or as on with an
// interval that watchPlan then judges; never a panic, never off with an
// interval.
func FuzzWatchSetting(f *testing.F) {
	for _, s := range []string{"true", "30s", "1h2m3.5s", "", "off", "9223372036854775807ns", "-5m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var w watchSetting
		if err := w.Set(s); err != nil {
			return
		}
		if !w.on && w.interval != 0 {
			t.Fatalf("Set(%q) = %+v", s, w)
		}
		if w.on {
			_, _ = watchPlan(globalOptions{Watch: w, WatchSignal: "TERM", WatchGrace: time.Second})
		}
	})
}
