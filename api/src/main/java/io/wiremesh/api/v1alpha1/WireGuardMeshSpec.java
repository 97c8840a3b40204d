package io.wiremesh.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;
import java.util.Map;

/**
 * What a WireGuardMesh asks for (the CRD's spec; its schema is generated from this class). Unset fields
 * mean the defaults defined here once ({@code DEFAULT_*} and the {@code ...OrDefault()} readers), for
 * every module that reads a mesh rather than a copy of each value.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)

@com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true) // a newer version's fields: kept working across upgrades
public class WireGuardMeshSpec {
    /** spec.listenPort when unset: WireGuard's customary port. The CRD's default for the field. */
    public static final int DEFAULT_LISTEN_PORT = 51820;
    /** spec.persistentKeepalive when unset: 0, no keepalives (only a node behind NAT needs them). Not in the CRD: unset stays unset. */
    public static final int DEFAULT_PERSISTENT_KEEPALIVE = 0;
    /** spec.datapath when unset. The CRD's default for the field ({@code "auto"}). */
    public static final Datapath DEFAULT_DATAPATH = Datapath.AUTO;

    /** Which WireGuard implementation a node runs: {@code auto} picks the kernel module where present, else the userspace one. */
    public enum Datapath {
        @JsonProperty("auto") AUTO,
        @JsonProperty("kernel") KERNEL,
        @JsonProperty("userspace") USERSPACE
    }

    @Required
    @Size(min = 1, max = 2)
    @ValidationRule(value = "size(self) < 2 || (self[0].contains(':') != self[1].contains(':'))",
            message = "podCIDRs may hold one IPv4 and one IPv6 CIDR, not two of one family")
    @JsonPropertyDescription("Pod address pools, at most one IPv4 and one IPv6 CIDR (e.g. 10.42.0.0/16, fd42::/48). Each selected node gets one block of each.")
    public List<@Pattern(Formats.CIDR) String> podCIDRs;

    @JsonPropertyDescription("Prefix length of each node's block, per family (default: " + NodeBlockSize.DEFAULT_IPV4 + " for IPv4, "
            + NodeBlockSize.DEFAULT_IPV6 + " for IPv6).")
    public NodeBlockSize nodeBlockSize;

    @Min(1)
    @Max(65535)
    @Default("" + DEFAULT_LISTEN_PORT)
    @JsonPropertyDescription("UDP port every node's WireGuard interface listens on.")
    public Integer listenPort;

    @Min(1280)
    @Max(9000)
    @JsonPropertyDescription("MTU of wiremesh0. Unset: the underlay MTU minus 80 (WireGuard over IPv6 overhead).")
    public Integer mtu;

    @Default("auto") // DEFAULT_DATAPATH as JSON (an enum constant cannot be an annotation's string; MeshDefaultsTest checks they agree)
    @JsonPropertyDescription("auto: the kernel module when present, else the userspace (Java) datapath; kernel or userspace force one.")
    public Datapath datapath;

    @JsonPropertyDescription("Nodes with all of these labels join the mesh. Empty: every node.")
    public Map<String, String> nodeSelector;

    @Min(0)
    @Max(65535)
    @JsonPropertyDescription("Seconds between keepalives to each peer; 0 or unset disables them (needed only behind NAT).")
    public Integer persistentKeepalive;

    @Size(max = 2)
    @JsonPropertyDescription("Address pools for external peers (WireGuardPeer), at most one IPv4 and one IPv6 CIDR.")
    public List<@Pattern(Formats.CIDR) String> peerCIDRs;

    @JsonPropertyDescription("Pod (and full-tunnel external peer) traffic to destinations outside the mesh: SNATed to the node's address unless turned off.")
    public Egress egress;

    @JsonPropertyDescription("Post-quantum preshared keys between nodes: every pair of nodes agrees on a new WireGuard preshared key each interval"
            + " through an ML-KEM-768 exchange inside its tunnel, chained to the previous one. On unless turned off. External peers keep their own static preshared key.")
    public PresharedKeys presharedKeys;

    @JsonPropertyDescription("Rotation of the nodes' WireGuard keys: each node gets a new key every interval, one node at a time, without"
            + " losing traffic. Off unless an interval is set: external devices (WireGuardPeer) hold their gateway node's key and need"
            + " `wiremesh peer config` again after that node's rotation.")
    public KeyRotation keyRotation;

    /** spec.listenPort, or {@link #DEFAULT_LISTEN_PORT} when unset. */
    public int listenPortOrDefault() {
        return listenPort == null ? DEFAULT_LISTEN_PORT : listenPort;
    }

    /** spec.persistentKeepalive in seconds, or {@link #DEFAULT_PERSISTENT_KEEPALIVE} (off) when unset. */
    public int persistentKeepaliveOrDefault() {
        return persistentKeepalive == null ? DEFAULT_PERSISTENT_KEEPALIVE : persistentKeepalive;
    }

    /** spec.datapath, or {@link #DEFAULT_DATAPATH} when unset. */
    public Datapath datapathOrDefault() {
        return datapath == null ? DEFAULT_DATAPATH : datapath;
    }

    /** The node-key rotation interval, or null when rotation is off (unset, or not a duration). */
    public java.time.Duration keyRotationInterval() {
        if (keyRotation == null || keyRotation.interval == null) return null;
        try {
            return PresharedKeys.parse(keyRotation.interval);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)

    @com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true) // a newer version's fields: kept working across upgrades
    public static class KeyRotation {
        @Pattern(PresharedKeys.DURATION)
        @JsonPropertyDescription("How long a node keeps a WireGuard key, as a duration (e.g. 720h for 30 days; at least 5s). Unset: never rotated.")
        public String interval;
    }

    /** Whether the rotating post-quantum preshared keys between nodes are on (unset: on). */
    public boolean presharedKeysEnabled() {
        return presharedKeys == null || presharedKeys.enabled == null || presharedKeys.enabled;
    }

    /**
     * The rotation interval of the preshared keys between nodes (unset: 2 minutes). Never throws: a value
     * the API server's pattern let through but that is not a duration counts as unset.
     */
    public java.time.Duration presharedKeyInterval() {
        if (presharedKeys == null || presharedKeys.interval == null) return PresharedKeys.DEFAULT_INTERVAL;
        try {
            return PresharedKeys.parse(presharedKeys.interval);
        } catch (IllegalArgumentException e) {
            return PresharedKeys.DEFAULT_INTERVAL;
        }
    }

    /** Unset means the defaults: masquerade on, no extra exclusions. */
    public boolean masquerade() {
        return egress == null || egress.masquerade == null || egress.masquerade;
    }

    /** The user's extra destinations that keep the pod's source address (never null). */
    public List<String> egressExcludeCIDRs() {
        return egress == null || egress.excludeCIDRs == null ? List.of() : egress.excludeCIDRs;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)

    @com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true) // a newer version's fields: kept working across upgrades
    public static class Egress {
        @Default("true")
        @JsonPropertyDescription("SNAT (masquerade) traffic from pod and peer addresses to destinations outside the mesh's pod and peer CIDRs and"
                + " its nodes' addresses, when it leaves a node through the underlay (as Calico's natOutgoing and flannel's ip-masq).")
        public Boolean masquerade;

        @Size(max = 64)
        @JsonPropertyDescription("More destinations that keep the pod's own source address (e.g. a routed corporate network that knows the pod"
                + " CIDRs). IPv4 or IPv6 CIDRs.")
        public List<@Pattern(Formats.CIDR) String> excludeCIDRs;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)

    @com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true) // a newer version's fields: kept working across upgrades
    public static class PresharedKeys {
        /** WireGuard's own session rekey time (whitepaper section 6.1, REKEY_AFTER_TIME): the default interval. */
        public static final java.time.Duration DEFAULT_INTERVAL = java.time.Duration.ofMinutes(2);
        /** The shortest interval a node uses; shorter values are raised to it. */
        public static final java.time.Duration MIN_INTERVAL = java.time.Duration.ofSeconds(5);

        @Default("true")
        @JsonPropertyDescription("Rotate a post-quantum preshared key between every pair of nodes (default true). false: node peers have no preshared key.")
        public Boolean enabled;

        @Pattern(DURATION)
        @Default("2m")
        @JsonPropertyDescription("How often each pair of nodes makes a new preshared key, as a duration (e.g. 2m, 90s, 1h; at least 5s). Default 2m: WireGuard's own rekey time.")
        public String interval;

        /** A duration as the API writes it: hours, minutes and seconds in that order, each at most once ("1h30m", "90s"). RE2: no lookahead. */
        public static final String DURATION = "^([0-9]{1,6}h([0-9]{1,6}m)?([0-9]{1,6}s)?|[0-9]{1,6}m([0-9]{1,6}s)?|[0-9]{1,6}s)$";

        /**
         * The duration {@code text} ({@link #DURATION}) names, raised to {@link #MIN_INTERVAL}.
         *
         * @throws IllegalArgumentException when {@code text} is not such a duration
         */
        public static java.time.Duration parse(String text) {
            if (text == null || !text.matches(DURATION)) throw new IllegalArgumentException("not a duration like 2m, 90s or 1h30m: " + text);
            java.time.Duration d;
            try {
                d = java.time.Duration.parse("PT" + text.toUpperCase(java.util.Locale.ROOT));
            } catch (java.time.DateTimeException e) {
                throw new IllegalArgumentException("not a duration like 2m, 90s or 1h30m: " + text, e);
            }
            return d.compareTo(MIN_INTERVAL) < 0 ? MIN_INTERVAL : d;
        }
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)

    @com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true) // a newer version's fields: kept working across upgrades
    public static class NodeBlockSize {
        /** IPv4 block prefix length when unset: 254 pod addresses per node. */
        public static final int DEFAULT_IPV4 = 24;
        /** IPv6 block prefix length when unset. */
        public static final int DEFAULT_IPV6 = 112;

        @Min(8)
        @Max(30)
        @JsonPropertyDescription("IPv4 block prefix length (default " + DEFAULT_IPV4 + ": 254 pod addresses per node).")
        public Integer ipv4;

        @Min(64)
        @Max(126)
        @JsonPropertyDescription("IPv6 block prefix length (default " + DEFAULT_IPV6 + ").")
        public Integer ipv6;
    }
}
