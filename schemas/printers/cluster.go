package printers

import (
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	nodev1 "k8s.io/api/node/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	rbacv1beta1 "k8s.io/api/rbac/v1beta1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// addCluster registers the small kinds of the rbac, policy, scheduling, node and
// coordination groups. Role and ClusterRole have no upstream printer (see Default).
func addCluster(m map[schema.GroupKind]Printer) {
	rbac := func(kind string) schema.GroupKind {
		return schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: kind}
	}

	m[rbac("RoleBinding")] = Printer{
		Columns: bindingColumns(rbacv1beta1.RoleBinding{}.SwaggerDoc()["roleRef"], "roleBinding"),
		Row: rowOf(func(rb *rbacv1.RoleBinding, now time.Time) []any {
			return printBinding(rb.Name, rb.RoleRef, rb.Subjects, rb.CreationTimestamp, now)
		}),
	}
	m[rbac("ClusterRoleBinding")] = Printer{
		Columns: bindingColumns(rbacv1beta1.ClusterRoleBinding{}.SwaggerDoc()["roleRef"], "clusterRoleBinding"),
		Row: rowOf(func(crb *rbacv1.ClusterRoleBinding, now time.Time) []any {
			return printBinding(crb.Name, crb.RoleRef, crb.Subjects, crb.CreationTimestamp, now)
		}),
	}
	m[schema.GroupKind{Group: "policy", Kind: "PodDisruptionBudget"}] = Printer{
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			{Name: "Min Available", Type: "string", Description: "The minimum number of pods that must be available."},
			{Name: "Max Unavailable", Type: "string", Description: "The maximum number of pods that may be unavailable."},
			{Name: "Allowed Disruptions", Type: "integer", Description: "Calculated number of pods that may be disrupted at this time."},
			ageColumn(),
		},
		Row: rowOf(printPodDisruptionBudget),
	}
	m[schema.GroupKind{Group: "scheduling.k8s.io", Kind: "PriorityClass"}] = Printer{
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			{Name: "Value", Type: "integer", Description: schedulingv1.PriorityClass{}.SwaggerDoc()["value"]},
			{Name: "Global-Default", Type: "boolean", Description: schedulingv1.PriorityClass{}.SwaggerDoc()["globalDefault"]},
			ageColumn(),
			{Name: "PreemptionPolicy", Type: "string", Description: schedulingv1.PriorityClass{}.SwaggerDoc()["preemptionPolicy"]},
		},
		Row: rowOf(func(pc *schedulingv1.PriorityClass, now time.Time) []any {
			preemptionPolicy := ""
			if pc.PreemptionPolicy != nil {
				preemptionPolicy = string(*pc.PreemptionPolicy)
			}
			return []any{pc.Name, int64(pc.Value), pc.GlobalDefault, translateTimestampSince(pc.CreationTimestamp, now), preemptionPolicy}
		}),
	}
	m[schema.GroupKind{Group: "node.k8s.io", Kind: "RuntimeClass"}] = Printer{
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			// Upstream looks the description up in ObjectMeta's docs, which have no
			// "handler" entry, so it is empty there too.
			{Name: "Handler", Type: "string", Description: objectMetaDoc["handler"]},
			ageColumn(),
		},
		Row: rowOf(func(rc *nodev1.RuntimeClass, now time.Time) []any {
			return []any{rc.Name, rc.Handler, translateTimestampSince(rc.CreationTimestamp, now)}
		}),
	}
	m[schema.GroupKind{Group: "coordination.k8s.io", Kind: "Lease"}] = Printer{
		Columns: []metav1.TableColumnDefinition{
			nameColumn(),
			{Name: "Holder", Type: "string", Description: coordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"]},
			ageColumn(),
		},
		Row: rowOf(func(l *coordinationv1.Lease, now time.Time) []any {
			holder := ""
			if l.Spec.HolderIdentity != nil {
				holder = *l.Spec.HolderIdentity
			}
			return []any{l.Name, holder, translateTimestampSince(l.CreationTimestamp, now)}
		}),
	}
}

// bindingColumns are the (Cluster)RoleBinding columns; what names the object in the
// wide columns' descriptions.
func bindingColumns(roleRefDoc, what string) []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Role", Type: "string", Description: roleRefDoc},
		ageColumn(),
		{Name: "Users", Type: "string", Priority: 1, Description: "Users in the " + what},
		{Name: "Groups", Type: "string", Priority: 1, Description: "Groups in the " + what},
		{Name: "ServiceAccounts", Type: "string", Priority: 1, Description: "ServiceAccounts in the " + what},
	}
}

// printBinding prints ROLE as "Kind/name" and the subjects by kind; subjects of
// other kinds are not shown.
func printBinding(name string, ref rbacv1.RoleRef, subjects []rbacv1.Subject, created metav1.Time, now time.Time) []any {
	var users, groups, sas []string
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.ServiceAccountKind:
			sas = append(sas, s.Namespace+"/"+s.Name)
		case rbacv1.UserKind:
			users = append(users, s.Name)
		case rbacv1.GroupKind:
			groups = append(groups, s.Name)
		}
	}
	return []any{
		name, ref.Kind + "/" + ref.Name, translateTimestampSince(created, now),
		strings.Join(users, ", "), strings.Join(groups, ", "), strings.Join(sas, ", "),
	}
}

func printPodDisruptionBudget(pdb *policyv1.PodDisruptionBudget, now time.Time) []any {
	minAvailable, maxUnavailable := "N/A", "N/A"
	if pdb.Spec.MinAvailable != nil {
		minAvailable = pdb.Spec.MinAvailable.String()
	}
	if pdb.Spec.MaxUnavailable != nil {
		maxUnavailable = pdb.Spec.MaxUnavailable.String()
	}
	return []any{pdb.Name, minAvailable, maxUnavailable, int64(pdb.Status.DisruptionsAllowed), translateTimestampSince(pdb.CreationTimestamp, now)}
}
