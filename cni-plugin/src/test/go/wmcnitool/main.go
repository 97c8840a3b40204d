// wmcnitool: a minimal CNI runtime on Debian's libcni (the library podman uses), for tests:
//   NETCONFPATH=DIR CNI_PATH=DIRS CNI_CACHE_DIR=DIR wmcnitool add|check|del NETWORK NETNS CONTAINERID [IFNAME]
// PORT_MAPPINGS (JSON list) is passed as the portMappings capability.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/containernetworking/cni/libcni"
)

func main() {
	if len(os.Args) < 5 {
		fmt.Fprintln(os.Stderr, "usage: wmcnitool add|check|del NETWORK NETNS CONTAINERID [IFNAME]")
		os.Exit(2)
	}
	cmd, name, netns, id := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	ifname := "eth0"
	if len(os.Args) > 5 {
		ifname = os.Args[5]
	}
	list, err := libcni.LoadConfList(os.Getenv("NETCONFPATH"), name)
	if err != nil {
		fail(err)
	}
	cni := libcni.NewCNIConfigWithCacheDir(strings.Split(os.Getenv("CNI_PATH"), ":"), os.Getenv("CNI_CACHE_DIR"), nil)
	rt := &libcni.RuntimeConf{ContainerID: id, NetNS: netns, IfName: ifname,
		Args: [][2]string{{"IgnoreUnknown", "1"}, {"K8S_POD_NAMESPACE", "default"}, {"K8S_POD_NAME", id}}}
	if pm := os.Getenv("PORT_MAPPINGS"); pm != "" {
		var v []map[string]interface{}
		if err := json.Unmarshal([]byte(pm), &v); err != nil {
			fail(err)
		}
		rt.CapabilityArgs = map[string]interface{}{"portMappings": v}
	}
	ctx := context.Background()
	switch cmd {
	case "add":
		r, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail(err)
		}
		if err := r.Print(); err != nil {
			fail(err)
		}
	case "check":
		if err := cni.CheckNetworkList(ctx, list, rt); err != nil {
			fail(err)
		}
	case "del":
		if err := cni.DelNetworkList(ctx, list, rt); err != nil {
			fail(err)
		}
	default:
		fail(fmt.Errorf("unknown command %s", cmd))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
