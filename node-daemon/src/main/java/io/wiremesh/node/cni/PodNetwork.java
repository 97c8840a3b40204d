package io.wiremesh.node.cni;

import io.wiremesh.api.cni.CniErrorCode;
import io.wiremesh.node.ipam.Ipam;
import io.wiremesh.node.netlink.NetNs;
import io.wiremesh.node.netlink.Netlink;
import io.wiremesh.node.netlink.NetlinkException;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Wires pods to the node, routed (no bridge, like Calico): the pod's {@code eth0} holds a /32 (and
 * /128) from the node's block and a default route via a link-local gateway address (169.254.1.1,
 * fe80::1) that the host end of its veth owns; the host has a /32 route to the pod over that veth.
 * Everything goes through rtnetlink.
 */
public final class PodNetwork {
    static final String GATEWAY_V4 = "169.254.1.1";
    static final String GATEWAY_V6 = "fe80::1";
    private final Ipam ipam;
    private final Netlink host;
    /** The pods' MTU at ADD time: in a mesh, the WireGuard interface's, which a mesh edit may change. */
    private final java.util.function.IntSupplier mtu;
    private final Path procSys;
    private final Coverage coverage;

    /**
     * What else the node keeps for its pods, told of every change: the NetworkPolicy rules, which must cover a new pod
     * before its ADD returns (its first packet already meets its policies).
     */
    public interface Coverage {
        /**
         * The pods wired on this node changed and the change is in place: returns once the rules cover it.
         *
         * @throws CniException when they do not (the ADD then fails, leaving nothing behind)
         */
        void awaitCovered() throws CniException;

        /** The pods wired on this node changed (a pod removed): the rules follow, nobody waits. */
        void changed();

        /** Nothing to cover (no NetworkPolicy enforcement on this node). */
        Coverage NONE = new Coverage() {
            @Override
            public void awaitCovered() {}

            @Override
            public void changed() {}
        };
    }

    public PodNetwork(Ipam ipam, Netlink host, java.util.function.IntSupplier mtu, Path procSys) {
        this(ipam, host, mtu, procSys, Coverage.NONE);
    }

    public PodNetwork(Ipam ipam, Netlink host, java.util.function.IntSupplier mtu, Path procSys, Coverage coverage) {
        this.ipam = ipam;
        this.host = host;
        this.mtu = mtu;
        this.procSys = procSys;
        this.coverage = coverage;
    }

    /** The host-side veth name for an attachment: stable, unique, at most 15 characters ("wm" and 12 hex digits). */
    public static String hostVeth(String containerId, String ifName) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest((containerId + "/" + ifName).getBytes(StandardCharsets.UTF_8));
            return "wm" + HexFormat.of().formatHex(h).substring(0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public record Attachment(String containerId, String netns, String ifName, Map<String, String> args, String cniVersion) {}

    /** ADD: IPAM, veth, addresses, routes; on any failure nothing is left behind. */
    public Map<String, Object> add(Attachment a) throws CniException {
        String veth = hostVeth(a.containerId(), a.ifName());
        List<Ipam.Allocation> ips;
        try {
            ips = ipam.allocate(a.containerId(), a.ifName(), a.args().get("K8S_POD_NAMESPACE"), a.args().get("K8S_POD_NAME"));
        } catch (Ipam.ExhaustedException e) {
            throw new CniException(CniErrorCode.TRY_AGAIN_LATER, e.getMessage(), "add nodes or widen the mesh's podCIDRs");
        } catch (Ipam.UnreadableStateException e) {
            throw unreadable(e);
        } catch (IOException e) {
            throw new CniException(CniErrorCode.IO_FAILURE, "cannot record the pod's address", e.getMessage());
        }
        try {
            host.deleteLink(veth); // a half-done earlier ADD for the same attachment
            int nsFd = NetNs.openFd(Path.of(a.netns()));
            try {
                host.createVeth(veth, a.ifName(), nsFd, mtu.getAsInt());
            } finally {
                NetNs.closeFd(nsFd);
            }
            Netlink.Link hostLink = host.link(veth);
            // The host end owns the pods' link-local gateway addresses, so it answers ARP / ND for them.
            if (ips.stream().anyMatch(ip -> !ip.v6())) {
                host.addAddress(hostLink.index(), InetAddress.getByName(GATEWAY_V4), 32, Netlink.RT_SCOPE_LINK);
            }
            boolean anyV6 = ips.stream().anyMatch(Ipam.Allocation::v6);
            if (anyV6) {
                sysctl("ipv6/conf/" + veth + "/disable_ipv6", "0");
                host.addAddress(hostLink.index(), InetAddress.getByName(GATEWAY_V6), 64, Netlink.RT_SCOPE_LINK);
            }
            host.setUp(hostLink.index());
            Netlink.Link podLink = NetNs.run(Path.of(a.netns()), () -> {
                try (Netlink pod = Netlink.open()) {
                    Netlink.Link l = pod.link(a.ifName());
                    for (Ipam.Allocation ip : ips) pod.addAddress(l.index(), InetAddress.getByName(ip.address()), ip.v6() ? 128 : 32, Netlink.RT_SCOPE_UNIVERSE);
                    pod.setUp(l.index());
                    for (Ipam.Allocation ip : ips) {
                        InetAddress gw = InetAddress.getByName(ip.v6() ? GATEWAY_V6 : GATEWAY_V4);
                        if (!ip.v6()) pod.replaceRoute(gw, 32, null, l.index(), Netlink.RT_SCOPE_LINK, Netlink.RTN_UNICAST, 0);
                        pod.replaceRoute(InetAddress.getByName(ip.v6() ? "::" : "0.0.0.0"), 0, gw, l.index(), Netlink.RT_SCOPE_UNIVERSE, Netlink.RTN_UNICAST, 0);
                    }
                    return pod.link(a.ifName());
                }
            });
            for (Ipam.Allocation ip : ips) {
                host.replaceRoute(InetAddress.getByName(ip.address()), ip.v6() ? 128 : 32, null, hostLink.index(),
                        Netlink.RT_SCOPE_LINK, Netlink.RTN_UNICAST, 0);
            }
            try {
                coverage.awaitCovered();
            } catch (CniException e) {
                undo(a, veth);
                throw e;
            }
            return result(a, veth, hostLink, podLink, ips);
        } catch (IOException | RuntimeException e) {
            undo(a, veth);
            if (e instanceof NetNs.NoSuchNamespaceException) {
                throw new CniException(CniErrorCode.INVALID_ENV, e.getMessage(), "CNI_NETNS must name the container's network namespace");
            }
            if (e instanceof NetlinkException ne && ne.errno == NetlinkException.EEXIST) {
                throw new CniException(CniErrorCode.INVALID_CONFIG, "interface " + a.ifName() + " already exists in " + a.netns(), e.getMessage());
            }
            throw new CniException(CniErrorCode.IO_FAILURE, "cannot wire the pod: " + e.getMessage(), null);
        }
    }

    /** ADD and CHECK while the IPAM state file cannot be read: the message names the file and the remedy. */
    private static CniException unreadable(Ipam.UnreadableStateException e) {
        return new CniException(CniErrorCode.IO_FAILURE, "the node-daemon cannot read its record of pod addresses", e.getMessage());
    }

    private void undo(Attachment a, String veth) {
        try {
            host.deleteLink(veth);
        } catch (IOException ignored) {
            // best effort; DEL or GC will retry
        }
        try {
            ipam.release(a.containerId(), a.ifName());
        } catch (IOException ignored) {
            // the record will be released by GC
        }
        coverage.changed();
    }

    /**
     * DEL: idempotent, also when the namespace is already gone (the veth dies with it). While the IPAM
     * state cannot be read, the pod's network is still removed and nothing is released: a failing DEL
     * would keep the very pods the remedy deletes from going away, and a restored file then keeps an
     * address of a gone pod (unused, never handed out twice) until GC.
     */
    public void del(String containerId, String ifName) throws CniException {
        try {
            host.deleteLink(hostVeth(containerId, ifName));
            try {
                ipam.release(containerId, ifName);
                coverage.changed();
            } catch (Ipam.UnreadableStateException e) {
                System.err.println("wiremesh node-daemon: DEL " + containerId + "/" + ifName + ": network removed, address not released: " + e.getMessage());
            }
        } catch (IOException e) {
            throw new CniException(CniErrorCode.IO_FAILURE, "cannot remove the pod's network: " + e.getMessage(), null);
        }
    }

    /** CHECK: the attachment's address, veth and routes are all still there. */
    public void check(Attachment a) throws CniException {
        List<Ipam.Allocation> ips;
        try {
            ips = ipam.find(a.containerId(), a.ifName());
        } catch (Ipam.UnreadableStateException e) {
            throw unreadable(e);
        }
        if (ips.isEmpty()) throw new CniException(CniErrorCode.UNKNOWN_CONTAINER, "no address is recorded for " + a.containerId() + "/" + a.ifName(), null);
        try {
            if (host.link(hostVeth(a.containerId(), a.ifName())) == null) {
                throw new CniException(CniErrorCode.IO_FAILURE, "host interface " + hostVeth(a.containerId(), a.ifName()) + " is missing", null);
            }
            Netlink.Link pod = NetNs.run(Path.of(a.netns()), () -> {
                try (Netlink nl = Netlink.open()) {
                    return nl.link(a.ifName());
                }
            });
            if (pod == null || !pod.up()) throw new CniException(CniErrorCode.IO_FAILURE, a.ifName() + " is missing or down in " + a.netns(), null);
        } catch (IOException e) {
            throw new CniException(CniErrorCode.IO_FAILURE, "check failed: " + e.getMessage(), null);
        }
    }

    /** GC: releases every attachment the runtime no longer knows. */
    public List<Ipam.Allocation> gc(Set<String> valid) throws CniException {
        try {
            List<Ipam.Allocation> gone = ipam.retainOnly(valid);
            for (Ipam.Allocation g : gone) host.deleteLink(hostVeth(g.containerId(), g.ifName()));
            if (!gone.isEmpty()) coverage.changed();
            return gone;
        } catch (IOException e) {
            throw new CniException(CniErrorCode.IO_FAILURE, "gc failed: " + e.getMessage(), null);
        }
    }

    private void sysctl(String key, String value) throws IOException {
        Path p = procSys.resolve(key);
        if (Files.exists(p)) Files.writeString(p, value);
    }

    /** The CNI result, shaped for the configuration's cniVersion. */
    private static Map<String, Object> result(Attachment a, String veth, Netlink.Link hostLink, Netlink.Link podLink, List<Ipam.Allocation> ips) {
        boolean legacy = a.cniVersion().startsWith("0.");
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("cniVersion", a.cniVersion());
        List<Map<String, Object>> ifs = new ArrayList<>();
        ifs.add(Map.of("name", veth, "mac", hostLink.macString()));
        ifs.add(Map.of("name", a.ifName(), "mac", podLink.macString(), "sandbox", a.netns()));
        r.put("interfaces", ifs);
        List<Map<String, Object>> ipl = new ArrayList<>();
        List<Map<String, Object>> routes = new ArrayList<>();
        for (Ipam.Allocation ip : ips) {
            Map<String, Object> m = new LinkedHashMap<>();
            if (legacy) m.put("version", ip.v6() ? "6" : "4");
            m.put("address", ip.address() + (ip.v6() ? "/128" : "/32"));
            m.put("gateway", ip.v6() ? GATEWAY_V6 : GATEWAY_V4);
            m.put("interface", 1);
            ipl.add(m);
            routes.add(Map.of("dst", ip.v6() ? "::/0" : "0.0.0.0/0", "gw", ip.v6() ? GATEWAY_V6 : GATEWAY_V4));
        }
        r.put("ips", ipl);
        r.put("routes", routes);
        r.put("dns", Map.of());
        return r;
    }
}
