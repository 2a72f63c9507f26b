package kubelet

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/tendhq/tend/kubelet/envvars"
)

// reasonCreateContainerConfigErr is upstream's waiting reason of a
// container whose environment or mounts could not be made.
const reasonCreateContainerConfigErr = "CreateContainerConfigError"

// containerEnv is a container's resolved environment: the variables in
// order, and by name for $(VAR) expansion.
type containerEnv struct {
	names []string
	vars  map[string]string
}

func (e *containerEnv) set(name, value string) {
	if _, ok := e.vars[name]; !ok {
		e.names = append(e.names, name)
	}
	e.vars[name] = value
}

// list is the environment as "NAME=value" strings.
func (e *containerEnv) list() []string {
	out := make([]string, len(e.names))
	for i, n := range e.names {
		out[i] = n + "=" + e.vars[n]
	}
	return out
}

// makeEnv resolves container c's environment as upstream's
// makeEnvironmentVariables: envFrom first (later sources replace earlier
// ones; keys that are not valid names are skipped, with an
// InvalidEnvironmentVariableNames event), then env in order, each value's
// $(VAR) references expanded from what came before and the service
// variables, valueFrom resolved; then the service variables not already
// set. An error (a missing ConfigMap, Secret or key that is not optional)
// is upstream's message, for CreateContainerConfigError.
func (w *podWorker) makeEnv(ctx context.Context, pod *corev1.Pod, c *corev1.Container, ips envvars.PodIPs) (*containerEnv, error) {
	k := w.k
	services, err := k.serviceEnv(pod)
	if err != nil {
		return nil, err
	}
	env := &containerEnv{vars: make(map[string]string, len(c.Env)+len(services))}
	src := volumeSource{k: k, freshAfter: w.firstSeen}
	for _, from := range c.EnvFrom {
		var data map[string]string
		var kind, name string
		switch {
		case from.ConfigMapRef != nil:
			kind, name = "configMap", from.ConfigMapRef.Name
			cm, err := src.ConfigMap(ctx, pod.Namespace, name)
			if err != nil {
				if apierrors.IsNotFound(err) && optional(from.ConfigMapRef.Optional) {
					continue
				}
				return nil, err
			}
			data = cm.Data
		case from.SecretRef != nil:
			kind, name = "secret", from.SecretRef.Name
			s, err := src.Secret(ctx, pod.Namespace, name)
			if err != nil {
				if apierrors.IsNotFound(err) && optional(from.SecretRef.Optional) {
					continue
				}
				return nil, err
			}
			data = make(map[string]string, len(s.Data))
			for key, v := range s.Data {
				data[key] = string(v)
			}
		default:
			continue
		}
		keys := make([]string, 0, len(data))
		for key := range data {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		var invalid []string
		for _, key := range keys {
			n := from.Prefix + key
			if len(validation.IsEnvVarName(n)) != 0 {
				invalid = append(invalid, n)
				continue
			}
			env.set(n, data[key])
		}
		if len(invalid) > 0 {
			k.event(pod, corev1.EventTypeWarning, "InvalidEnvironmentVariableNames",
				"Keys [%s] from the EnvFrom %s %s/%s were skipped since they are considered invalid environment variable names.",
				strings.Join(invalid, ", "), kind, pod.Namespace, name)
		}
	}

	mapping := envvars.Mapping(env.vars, services)
	var defaulted *corev1.Container
	for _, ev := range c.Env {
		value := ev.Value
		if value != "" {
			value = envvars.Expand(value, mapping)
		} else if vf := ev.ValueFrom; vf != nil {
			var skip bool
			var err error
			switch {
			case vf.FieldRef != nil:
				value, err = envvars.FieldValue(pod, vf.FieldRef.FieldPath, ips)
			case vf.ResourceFieldRef != nil:
				if defaulted == nil {
					defaulted = envvars.DefaultLimits(c, k.allocatable)
				}
				target := defaulted
				if name := vf.ResourceFieldRef.ContainerName; name != "" && name != c.Name {
					value, err = envvars.ContainerResourceValue(vf.ResourceFieldRef, envvars.DefaultPodLimits(pod, k.allocatable), name)
					break
				}
				value, err = envvars.ResourceValue(vf.ResourceFieldRef, target)
			case vf.ConfigMapKeyRef != nil:
				ref := vf.ConfigMapKeyRef
				var cm *corev1.ConfigMap
				if cm, err = src.ConfigMap(ctx, pod.Namespace, ref.Name); err != nil {
					skip = apierrors.IsNotFound(err) && optional(ref.Optional)
					break
				}
				var ok bool
				if value, ok = cm.Data[ref.Key]; !ok {
					if skip = optional(ref.Optional); !skip {
						err = fmt.Errorf("couldn't find key %v in ConfigMap %v/%v", ref.Key, pod.Namespace, ref.Name)
					}
				}
			case vf.SecretKeyRef != nil:
				ref := vf.SecretKeyRef
				var s *corev1.Secret
				if s, err = src.Secret(ctx, pod.Namespace, ref.Name); err != nil {
					skip = apierrors.IsNotFound(err) && optional(ref.Optional)
					break
				}
				b, ok := s.Data[ref.Key]
				if !ok {
					if skip = optional(ref.Optional); !skip {
						err = fmt.Errorf("couldn't find key %v in Secret %v/%v", ref.Key, pod.Namespace, ref.Name)
					}
				}
				value = string(b)
			case vf.FileKeyRef != nil:
				err = errors.New("env fileKeyRef is not supported by tend")
			}
			if skip {
				continue
			}
			if err != nil {
				return nil, err
			}
		}
		env.set(ev.Name, value)
	}

	names := make([]string, 0, len(services))
	for n := range services {
		if _, ok := env.vars[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		env.set(n, services[n])
	}
	return env, nil
}

func optional(b *bool) bool { return b != nil && *b }

// serviceEnv is the service variables of a pod, from the services
// informer.
func (k *Kubelet) serviceEnv(pod *corev1.Pod) (map[string]string, error) {
	if k.services == nil {
		return nil, nil
	}
	if !k.services.HasSynced() {
		return nil, errors.New("services have not yet been read at least once, cannot construct envvars")
	}
	links := pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks
	list := k.services.ListNamespace(pod.Namespace)
	if pod.Namespace != "default" {
		if s, ok := k.services.Get("default", "kubernetes"); ok {
			list = append(list, s)
		}
	}
	return envvars.ServiceEnv(list, pod.Namespace, links), nil
}

// containerConfig is what CreateContainer gets for container c: its
// resolved environment, command and args, and its mounts.
func (w *podWorker) containerConfig(ctx context.Context, pod *corev1.Pod, c *corev1.Container, rp *runtimePod, sandboxID string) (ContainerConfig, error) {
	k := w.k
	ips := envvars.PodIPs{HostIPs: []string{k.hostIP}}
	for _, sb := range rp.sandboxes {
		if sb.ID == sandboxID && sb.IP != "" {
			ips.PodIPs = []string{sb.IP}
		}
	}
	if pod.Spec.HostNetwork {
		ips.PodIPs = []string{k.hostIP}
	}
	env, err := w.makeEnv(ctx, pod, c, ips)
	if err != nil {
		return ContainerConfig{}, err
	}
	mapping := envvars.Mapping(env.vars)
	cfg := ContainerConfig{Spec: c, Pod: pod, Env: env.list(),
		Command: envvars.ExpandAll(c.Command, mapping), Args: envvars.ExpandAll(c.Args, mapping)}
	if k.cfg.Volumes != nil {
		if cfg.Mounts, err = k.cfg.Volumes.Mounts(pod, c, env.vars); err != nil {
			return ContainerConfig{}, err
		}
	}
	return cfg, nil
}

// setUpVolumes prepares the pod's volumes before anything of it starts,
// and brings them up to date when the pod changed or ObjectCacheTTL passed.
// A failure is a FailedMount event; the pod waits (ContainerCreating) and
// is synced again after the back-off.
func (w *podWorker) setUpVolumes(ctx context.Context, pod *corev1.Pod) bool {
	k := w.k
	if k.cfg.Volumes == nil || len(pod.Spec.Volumes) == 0 {
		return true
	}
	now := k.clock.Now()
	if w.volumesRV == pod.ResourceVersion && now.Sub(w.volumesAt) < k.cfg.ObjectCacheTTL {
		return true
	}
	if err := k.cfg.Volumes.SetUp(ctx, pod, volumeSource{k: k, freshAfter: w.firstSeen}); err != nil {
		if ctx.Err() != nil {
			return false
		}
		k.event(pod, corev1.EventTypeWarning, "FailedMount", "%v", err)
		k.logf("pod %s: %v", w.key(), err)
		w.retryIn(k.cfg.ContainerBackOff)
		return false
	}
	w.volumesRV, w.volumesAt = pod.ResourceVersion, now
	return true
}

// isSidecar reports whether name is a restartable init container of pod.
func isSidecar(pod *corev1.Pod, name string) bool {
	if pod == nil {
		return false
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return isRestartable(&pod.Spec.InitContainers[i])
		}
	}
	return false
}
