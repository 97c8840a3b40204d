package io.wiremesh.node.wg;

import io.wiremesh.api.v1alpha1.WireGuardMeshSpec.Datapath;
import io.wiremesh.node.netlink.Netlink;
import java.io.IOException;
import io.wiremesh.wireguard.uapi.InterfaceOwner;
import io.wiremesh.wireguard.uapi.UapiServer;
import java.nio.file.Path;

/** Chooses the WireGuard implementation a mesh asks for (spec.datapath), or says why it cannot. */
public final class Datapaths {
    private Datapaths() {}

    /** The chosen datapath could not be used; the message says what to change. */
    public static final class Unavailable extends IOException {
        public Unavailable(String message) {
            super(message);
        }
    }

    /** Where userspace datapaths serve their UAPI sockets and the node-daemon records each interface's owner. */
    public static final Path UAPI_DIR = UapiServer.DEFAULT_DIR;

    /**
     * The device for {@code spec.datapath} on this node: the kernel module when asked for, or with
     * {@code auto} when the kernel has it (generic netlink family {@code wireguard}, which the kernel
     * loads on demand); otherwise the userspace datapath's UAPI socket, {@code UAPI_DIR/IFNAME.sock}.
     *
     * @throws Unavailable when {@code kernel} is asked for and the module is missing
     */
    public static WireGuardDevice choose(Datapath wanted, String ifname) throws IOException {
        Datapath d = wanted == null ? Datapath.AUTO : wanted;
        boolean kernel = Netlink.genericFamilyExists("wireguard");
        if (d == Datapath.KERNEL && !kernel) {
            throw new Unavailable("spec.datapath is kernel but this node has no WireGuard kernel module (generic netlink family"
                    + " 'wireguard' not found): load it (modprobe wireguard) or set spec.datapath to auto or userspace");
        }
        if (d == Datapath.KERNEL || (d == Datapath.AUTO && kernel)) return new KernelDevice(ifname);
        // userspace, or auto without the module: the datapath process serving the UAPI socket (wiremesh-wg or wireguard-go).
        return new UapiDevice(UAPI_DIR.resolve(ifname + ".sock"));
    }

    /** What the node-daemon records for the datapath process ({@link InterfaceOwner}): who creates the interface. */
    public static InterfaceOwner owner(WireGuardDevice device) {
        return device instanceof KernelDevice ? InterfaceOwner.KERNEL : InterfaceOwner.USERSPACE;
    }
}
