package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

type fakeEntrypoints map[string]ImageConfig

func (f fakeEntrypoints) ReadEntrypoint(_ context.Context, image string, _ PullContext) (ImageConfig, error) {
	if c, ok := f[image]; ok {
		return c, nil
	}
	return ImageConfig{}, errors.New("cannot read the entrypoint of image " + `"` + image + `"`)
}

var testOptions = Options{Image: "reg.example/azexec:1", BinaryInImage: "/azexec", ExcludedNamespaces: []string{"kube-system", "azexec-system"},
	Entrypoints: fakeEntrypoints{"app:entry": {Entrypoint: []string{"/app"}, Cmd: []string{"serve"}}}}

func podRequest(ns, podJSON string) *request {
	return &request{UID: "u1", Kind: groupVersionKind{Version: "v1", Kind: "Pod"}, Resource: groupVersionResource{Version: "v1", Resource: "pods"},
		Namespace: ns, Operation: "CREATE", Object: json.RawMessage(podJSON)}
}

func patchOf(t *testing.T, out outcome) []patchOp {
	t.Helper()
	var ops []patchOp
	if out.resp.Patch != nil {
		if err := json.Unmarshal(out.resp.Patch, &ops); err != nil {
			t.Fatal(err)
		}
	}
	return ops
}

func TestAdmitWrapsOptedInPod(t *testing.T) {
	out := admit(context.Background(), &testOptions, podRequest("apps", `{"metadata":{"name":"p","annotations":{"azexec.io/inject":"true"}},
		"spec":{"initContainers":[{"name":"setup","image":"busybox","command":["true"]}],
		"containers":[{"name":"app","image":"app:1","command":["/bin/app","-v"],"args":["x"]},{"name":"side","image":"app:entry"}]}}`), false)
	if !out.resp.Allowed || out.decision != "wrapped" {
		t.Fatalf("outcome %+v", out)
	}
	got := string(out.resp.Patch)
	for _, want := range []string{
		`{"op":"add","path":"/spec/containers/0/command","value":["/azexec-bin/azexec","--","/bin/app","-v"]}`,
		`{"op":"add","path":"/spec/containers/1/args","value":["serve"]}`,
		`{"op":"add","path":"/spec/containers/1/command","value":["/azexec-bin/azexec","--","/app"]}`,
		`"path":"/spec/volumes","value":[{"emptyDir":{"medium":"Memory"`,
		`"path":"/spec/initContainers/-","value":{"command":["/azexec","install","/azexec-bin/azexec"]`,
		`{"op":"add","path":"/spec/containers/0/volumeMounts","value":[{"name":"azexec-bin","mountPath":"/azexec-bin","readOnly":true}]}`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("patch lacks %s\npatch: %s", want, got)
		}
	}
	if strings.Contains(got, "/spec/initContainers/0/command") {
		t.Errorf("an init container was wrapped: %s", got)
	}
}

func TestAdmitLeavesPodsAlone(t *testing.T) {
	for name, c := range map[string]struct {
		ns, pod string
		nsOptIn bool
	}{
		"not opted in":  {"apps", `{"metadata":{"name":"p"},"spec":{"containers":[{"name":"a","command":["x"]}]}}`, false},
		"kube-system":   {"kube-system", `{"metadata":{"annotations":{"azexec.io/inject":"true"}},"spec":{"containers":[{"name":"a","command":["x"]}]}}`, true},
		"own namespace": {"azexec-system", `{"metadata":{"annotations":{"azexec.io/inject":"true"}},"spec":{"containers":[{"name":"a","command":["x"]}]}}`, false},
		// The pod's own metadata.namespace is its author's word, not the
		// API server's: it never stands in for the request's.
		"no request namespace": {"", `{"metadata":{"namespace":"apps","annotations":{"azexec.io/inject":"true"}},"spec":{"containers":[{"name":"a","command":["x"]}]}}`, false},
		"opted out of the ns":  {"apps", `{"metadata":{"annotations":{"azexec.io/inject":"false"}},"spec":{"containers":[{"name":"a","command":["x"]}]}}`, true},
		"already wrapped": {"apps", `{"metadata":{"annotations":{"azexec.io/inject":"true"}},"spec":{"volumes":[{"name":"azexec-bin"}],
			"initContainers":[{"name":"azexec-install"}],"containers":[{"name":"a","command":["/azexec-bin/azexec","--","x"],"volumeMounts":[{"name":"azexec-bin","mountPath":"/azexec-bin"}]}]}}`, false},
	} {
		out := admit(context.Background(), &testOptions, podRequest(c.ns, c.pod), c.nsOptIn)
		if !out.resp.Allowed || out.resp.Patch != nil || out.decision != "unchanged" {
			t.Errorf("%s: outcome %+v", name, out)
		}
	}
}

func TestAdmitNamespaceOptInAndSelection(t *testing.T) {
	out := admit(context.Background(), &testOptions, podRequest("apps", `{"metadata":{"annotations":{"azexec.io/containers":"b"}},
		"spec":{"containers":[{"name":"a","command":["x"]},{"name":"b","command":["y"]}]}}`), true)
	if out.decision != "wrapped" || describe(out.changed) != "b" {
		t.Fatalf("outcome %+v", out)
	}
	out = admit(context.Background(), &testOptions, podRequest("apps", `{"metadata":{"annotations":{"azexec.io/inject":"true","azexec.io/containers":"nope"}},
		"spec":{"containers":[{"name":"a","command":["x"]}]}}`), false)
	if out.resp.Allowed || !strings.Contains(out.resp.Result.Message, `"nope"`) {
		t.Fatalf("unknown container: %+v", out)
	}
}

func TestAdmitUnreadableImage(t *testing.T) {
	pod := `{"metadata":{"annotations":{"azexec.io/inject":"true"%s}},"spec":{"containers":[{"name":"a","image":"gone:1"}]}}`
	out := admit(context.Background(), &testOptions, podRequest("apps", strings.Replace(pod, "%s", "", 1)), false)
	if out.resp.Allowed || !strings.Contains(out.resp.Result.Message, `"gone:1"`) {
		t.Fatalf("want a denial naming the image: %+v", out)
	}
	out = admit(context.Background(), &testOptions, podRequest("apps", strings.Replace(pod, "%s", `,"azexec.io/on-image-error":"admit"`, 1)), false)
	if !out.resp.Allowed || out.resp.Patch != nil || len(out.resp.Warnings) != 1 || !strings.Contains(out.resp.Warnings[0], `"gone:1"`) {
		t.Fatalf("want admitted unchanged with a warning: %+v", out)
	}
}

func TestDecodeReview(t *testing.T) {
	for _, bad := range []string{``, `{}`, `{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"x"}}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`} {
		if _, err := decodeReview([]byte(bad)); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

// FuzzAdmit feeds arbitrary AdmissionReviews through the decoder and the
// mutation: no input may panic, and every answer keeps the request's uid
// and is either a denial or a patch of well-formed operations.
func FuzzAdmit(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","kind":{"kind":"Pod"},"resource":{"resource":"pods"},"operation":"CREATE","namespace":"a",
		"object":{"metadata":{"annotations":{"azexec.io/inject":"true","azexec.io/containers":"a, b"}},"spec":{"containers":[{"name":"a","command":["x"]},{"name":"b","image":"app:entry"}]}}}}`), true)
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","kind":{"kind":"Pod"},"resource":{"resource":"pods"},"operation":"CREATE",
		"object":{"metadata":{"annotations":{"azexec.io/on-image-error":"admit"}},"spec":{"volumes":null,"containers":[{"name":"a"}]}}}}`), false)
	f.Fuzz(func(t *testing.T, body []byte, nsOptIn bool) {
		rev, err := decodeReview(body)
		if err != nil {
			return
		}
		out := admit(context.Background(), &testOptions, rev.Request, nsOptIn)
		if out.resp.UID != rev.Request.UID {
			t.Fatalf("uid %q answered as %q", rev.Request.UID, out.resp.UID)
		}
		if !out.resp.Allowed && out.resp.Patch != nil {
			t.Fatal("a denial carries a patch")
		}
		var ops []patchOp
		if out.resp.Patch != nil && json.Unmarshal(out.resp.Patch, &ops) != nil {
			t.Fatalf("patch is not JSON: %s", out.resp.Patch)
		}
		for _, op := range ops {
			if op.Op != "add" || !strings.HasPrefix(op.Path, "/spec/") {
				t.Fatalf("unexpected operation %+v", op)
			}
		}
	})
}
