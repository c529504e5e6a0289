package providers

import "testing"

func TestDefaultSubscription(t *testing.T) {
	profile := "\xef\xbb\xbf" + `{"installationId":"x","subscriptions":[
	  {"id":"sub-a","name":"A","isDefault":false},
	  {"id":"sub-b","name":"B","isDefault":true}]}`
	if got := defaultSubscription([]byte(profile)); got != "sub-b" {
		t.Errorf("got %q", got)
	}
	for _, bad := range []string{"", "{", `{"subscriptions":[{"id":"a"}]}`} {
		if got := defaultSubscription([]byte(bad)); got != "" {
			t.Errorf("%q: got %q", bad, got)
		}
	}
}
