package kube

import (
	"bytes"
	"os"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
)

// TestExampleManifestsValidate sends every object of examples/kubernetes
// (but cert-manager's, whose CRDs this API server lacks) to the API server
// as a server-side dry run: each must pass its validation as written.
func TestExampleManifestsValidate(t *testing.T) {
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	cs := theCluster.client
	for _, ns := range []string{"shop"} {
		_, _ = cs.CoreV1().Namespaces().Create(ctx(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	}
	for _, file := range []string{"webhook.yaml", "app.yaml"} {
		raw, err := os.ReadFile("../../examples/kubernetes/" + file)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range bytes.Split(raw, []byte("\n---\n")) {
			obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(doc, nil, nil)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			var created runtime.Object
			switch o := obj.(type) {
			case *corev1.Namespace:
				created, err = cs.CoreV1().Namespaces().Create(ctx(t), o, dry)
			case *corev1.ServiceAccount:
				created, err = cs.CoreV1().ServiceAccounts(o.Namespace).Create(ctx(t), o, dry)
			case *corev1.Service:
				created, err = cs.CoreV1().Services(o.Namespace).Create(ctx(t), o, dry)
			case *appsv1.Deployment:
				created, err = cs.AppsV1().Deployments(o.Namespace).Create(ctx(t), o, dry)
			case *rbacv1.ClusterRole:
				created, err = cs.RbacV1().ClusterRoles().Create(ctx(t), o, dry)
			case *rbacv1.ClusterRoleBinding:
				created, err = cs.RbacV1().ClusterRoleBindings().Create(ctx(t), o, dry)
			default:
				t.Fatalf("%s: no dry run for %T", file, obj)
			}
			if err != nil && !(apierrors.IsAlreadyExists(err) && obj.GetObjectKind().GroupVersionKind().Kind == "Namespace") {
				t.Errorf("%s: %T refused: %v", file, obj, err)
			}
			_ = created
		}
	}
}
