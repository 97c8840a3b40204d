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
        Datapath d = wanted == null ? io.wiremesh.api.v1alpha1.WireGuardMeshSpec.DEFAULT_DATAPATH : wanted;
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

    /** What to do with a link that already has the interface's name, before {@code owner} drives it. */
    public enum Existing {
        /** None, or one the owner made itself (a restart of the daemon or the datapath): keep it, with its sessions. */
        KEEP,
        /** The other implementation's interface (a switch of spec.datapath): delete it. */
        REMOVE,
        /** A link of another kind (veth, dummy, another program's TUN): not ours to delete; the node cannot have the interface. */
        FOREIGN;

        /**
         * Pure decision from the new owner, the existing link's IFLA_INFO_KIND (null: no link, or no
         * kind) and whether a userspace datapath serves {@code IFNAME.sock}. The kernel module's links
         * are of kind {@code wireguard}; both userspace datapaths make a TUN (kind {@code tun}, as
         * TAP devices and other VPNs' TUNs are too: a TUN is deleted only while our socket is there).
         */
        public static Existing of(InterfaceOwner owner, boolean linkExists, String kind, boolean userspaceSocket) {
            if (!linkExists) return KEEP;
            if ("wireguard".equals(kind)) return owner == InterfaceOwner.KERNEL ? KEEP : REMOVE;
            if (!"tun".equals(kind)) return FOREIGN;
            if (owner == InterfaceOwner.USERSPACE) return KEEP; // the datapath's own (its socket may not be up yet)
            return userspaceSocket ? REMOVE : FOREIGN;
        }
    }

    /**
     * Makes {@code ifname} ready to be driven by {@code device}'s implementation, at start and on a
     * live switch of spec.datapath: records the owner for the chart's datapath container and removes
     * the other implementation's interface. The order keeps the two from racing for the name: to the
     * kernel, the owner is recorded first (the userspace process, ended by the removal of its TUN,
     * goes back to standing by instead of making it again); to userspace, the kernel's interface is
     * removed first (the standing-by process may create its TUN as soon as the owner says so). In
     * between, the fail-closed routes hold pod traffic for the mesh.
     *
     * @return true when an interface was removed (the new one starts without peers, routes or sessions)
     * @throws Unavailable when a link of a foreign kind has the name
     */
    public static boolean takeOver(WireGuardDevice device, String ifname, Path uapiDir) throws IOException {
        InterfaceOwner owner = owner(device);
        try (Netlink nl = Netlink.open()) {
            Netlink.Link link = nl.link(ifname);
            Existing existing = Existing.of(owner, link != null, link == null ? null : link.kind(),
                    java.nio.file.Files.exists(uapiDir.resolve(ifname + ".sock")));
            if (existing == Existing.FOREIGN) {
                throw new Unavailable("a link named " + ifname + " of kind " + link.kind() + " exists and is not a WireGuard interface:"
                        + " remove it, or give the node-daemon another --interface");
            }
            if (owner == InterfaceOwner.KERNEL) owner.record(uapiDir, ifname);
            boolean removed = existing == Existing.REMOVE && nl.deleteLink(ifname);
            if (owner == InterfaceOwner.USERSPACE) owner.record(uapiDir, ifname);
            return removed;
        }
    }
}
