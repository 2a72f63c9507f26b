package tendtest_test

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tendhq/tend/tendtest"
)

// A test starts its own cluster and talks to it with client-go.
func Example() {
	t := &testing.T{} // in a real test, the *testing.T you are given
	c := tendtest.Start(t, tendtest.Options{})
	defer c.Stop()

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "demo"}}
	created, err := c.Client().CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(created.Name, created.Status.Phase)
	// Output: demo Active
}
