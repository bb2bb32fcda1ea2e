// Command apiext-server is a standalone apiextensions API server (CustomResourceDefinitions and
// custom resources, backed by etcd) for netscaler-certsync's "apiserver" test tier.
//
// It is k8s.io/apiextensions-apiserver's own main + pkg/cmd/server.Run with four changes, all made
// through library calls (Debian's sources are not patched):
//
//  1. root discovery (/apis, legacy and aggregated) is switched back on: upstream turns it off
//     because kube-aggregator serves /apis in a real cluster, and without it kubectl cannot apply;
//  2. an OpenAPI v2 config is set, because the CRD OpenAPI v2 *and* v3 publishing controllers only
//     start when StaticOpenAPISpec exists; without them kubectl's client-side validation fails;
//  3. no core/v1 informers: there is no core API behind this server, and upstream's Service
//     informer would never sync, keeping /readyz red on "informer-sync" forever;
//  4. CRD groups are also published in the legacy APIGroupList, which the Python client's
//     DynamicClient (and most older clients) read.
//
// Build it with hack/apiserver/build.sh; tests/apiserver/ starts it.
package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sort"

	"github.com/spf13/cobra"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver"
	"k8s.io/apiextensions-apiserver/pkg/cmd/server/options"
	generatedopenapi "k8s.io/apiextensions-apiserver/pkg/generated/openapi"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/version"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/util/openapi"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/cache"
	"k8s.io/component-base/cli"
)

func main() {
	ctx := genericapiserver.SetupSignalContext()
	o := options.NewCustomResourceDefinitionsServerOptions(os.Stdout, os.Stderr)
	cmd := &cobra.Command{
		Use:   "apiext-server",
		Short: "Standalone apiextensions API server (CRDs + custom resources) with /apis discovery",
		PersistentPreRunE: func(*cobra.Command, []string) error {
			return o.ServerRunOptions.ComponentGlobalsRegistry.Set()
		},
		RunE: func(c *cobra.Command, _ []string) error {
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return run(c.Context(), o)
		},
	}
	cmd.SetContext(ctx)
	o.AddFlags(cmd.Flags())
	os.Exit(cli.Run(cmd))
}

func run(ctx context.Context, o *options.CustomResourceDefinitionsServerOptions) error {
	config, err := o.Config()
	if err != nil {
		return err
	}
	// Change 2: a v2 config makes StaticOpenAPISpec non-nil, which gates both publishing controllers.
	config.GenericConfig.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(
		openapi.GetOpenAPIDefinitionsWithoutDisabledFeatures(generatedopenapi.GetOpenAPIDefinitions),
		openapinamer.NewDefinitionNamer(apiserver.Scheme, scheme.Scheme))
	// Change 3: an informer factory nobody starts informers from, and a resolver that refuses
	// Service-based (conversion) webhooks with a clear message instead of hanging.
	config.GenericConfig.SharedInformerFactory = informers.NewSharedInformerFactory(
		kubernetes.NewForConfigOrDie(config.GenericConfig.LoopbackClientConfig), 0)
	config.ExtraConfig.ServiceResolver = noServiceResolver{}

	completed := config.Complete()
	completed.GenericConfig.EnableDiscovery = true // change 1; Complete() would reset it
	server, err := completed.New(genericapiserver.NewEmptyDelegate())
	if err != nil {
		return err
	}
	publishCRDGroups(server)
	return server.GenericAPIServer.PrepareRun().RunWithContext(ctx)
}

// publishCRDGroups keeps the legacy /apis APIGroupList in step with the established CRDs (change 4).
// Aggregated discovery already follows CRDs through apiextensions' own discovery controller.
func publishCRDGroups(s *apiserver.CustomResourceDefinitions) {
	inf := s.Informers.Apiextensions().V1().CustomResourceDefinitions()
	lister := inf.Lister()
	groups := s.GenericAPIServer.DiscoveryGroupManager

	resync := func(group string) {
		if group == "" {
			return
		}
		crds, err := lister.List(labels.Everything())
		if err != nil {
			return
		}
		seen := map[string]bool{}
		var versions []string
		for _, crd := range crds {
			if crd.Spec.Group != group || !established(crd) {
				continue
			}
			for _, v := range crd.Spec.Versions {
				if v.Served && !seen[v.Name] {
					seen[v.Name] = true
					versions = append(versions, v.Name)
				}
			}
		}
		if len(versions) == 0 {
			groups.RemoveGroup(group)
			return
		}
		// Highest Kubernetes-style version first: that is the preferred version clients pick.
		sort.Slice(versions, func(i, j int) bool {
			return version.CompareKubeAwareVersionStrings(versions[i], versions[j]) > 0
		})
		g := metav1.APIGroup{Name: group}
		for _, v := range versions {
			g.Versions = append(g.Versions, metav1.GroupVersionForDiscovery{GroupVersion: group + "/" + v, Version: v})
		}
		g.PreferredVersion = g.Versions[0]
		groups.AddGroup(g)
	}
	groupOf := func(obj interface{}) string {
		if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tombstone.Obj
		}
		if crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition); ok {
			return crd.Spec.Group
		}
		return ""
	}
	inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { resync(groupOf(obj)) },
		UpdateFunc: func(_, obj interface{}) { resync(groupOf(obj)) },
		DeleteFunc: func(obj interface{}) { resync(groupOf(obj)) },
	})
}

func established(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
			return true
		}
	}
	return false
}

type noServiceResolver struct{}

func (noServiceResolver) ResolveEndpoint(namespace, name string, _ int32) (*url.URL, error) {
	return nil, fmt.Errorf("service %s/%s: webhook service references are not supported by this "+
		"standalone server (use clientConfig.url)", namespace, name)
}
