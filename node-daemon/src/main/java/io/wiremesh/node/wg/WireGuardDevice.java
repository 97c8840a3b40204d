package io.wiremesh.node.wg;

import java.io.IOException;
import java.util.List;

/**
 * What the node-daemon needs from a WireGuard interface, whatever implements it: the kernel module
 * (generic netlink) or a userspace datapath (wiremesh-wg or wireguard-go) over the UAPI socket.
 * Every change is incremental: peers are added, updated or removed one by one, never re-created
 * wholesale, so other peers' sessions are not disturbed.
 */
public interface WireGuardDevice extends AutoCloseable {
    /** A peer; {@code presharedKey} (base64) is null for none. */
    record PeerConfig(String publicKey, String endpoint, List<String> allowedIps, int persistentKeepalive, String presharedKey) {
        public PeerConfig(String publicKey, String endpoint, List<String> allowedIps, int persistentKeepalive) {
            this(publicKey, endpoint, allowedIps, persistentKeepalive, null);
        }

        /** Without the preshared key: a secret never reaches a log line. */
        @Override
        public String toString() {
            return "PeerConfig[" + publicKey + ", endpoint " + endpoint + ", " + allowedIps + ", keepalive " + persistentKeepalive
                    + (presharedKey == null ? "" : ", preshared key set") + "]";
        }
    }

    /**
     * A peer as the interface reports it; {@code endpoint} "host:port" (IPv6 in brackets) or null,
     * {@code persistentKeepalive} in seconds (0: off), {@code presharedKey} base64 or null for none.
     */
    record PeerState(String publicKey, String endpoint, List<String> allowedIps, long lastHandshakeEpochSeconds, long rxBytes, long txBytes,
                     int persistentKeepalive, String presharedKey) {
        public PeerState(String publicKey, String endpoint, List<String> allowedIps, long lastHandshakeEpochSeconds, long rxBytes, long txBytes) {
            this(publicKey, endpoint, allowedIps, lastHandshakeEpochSeconds, rxBytes, txBytes, 0, null);
        }

        /** Without the preshared key: a secret never reaches a log line. */
        @Override
        public String toString() {
            return "PeerState[" + publicKey + ", endpoint " + endpoint + ", " + allowedIps + ", handshake " + lastHandshakeEpochSeconds
                    + ", rx " + rxBytes + ", tx " + txBytes + ", keepalive " + persistentKeepalive + (presharedKey == null ? "" : ", preshared key set") + "]";
        }
    }

    /**
     * Whether the interface already holds {@code wanted} as {@code current} reports it: endpoint (when
     * one is wanted), allowed IPs (as prefixes), persistent keepalive and preshared key. Such a peer
     * needs no write: a sync of N peers for one join then costs one read and one write, not N writes.
     */
    static boolean upToDate(PeerConfig wanted, PeerState current) {
        return current != null
                && (wanted.endpoint() == null || wanted.endpoint().equals(current.endpoint()))
                && wanted.persistentKeepalive() == current.persistentKeepalive()
                && java.util.Objects.equals(wanted.presharedKey(), current.presharedKey())
                && sameAllowedIps(current, wanted.allowedIps());
    }

    /** "kernel" or "userspace", as reported in WireGuardNode status. */
    String kind();

    void configure(byte[] privateKey, int listenPort) throws IOException;

    /** False when the interface lost its configuration (e.g. its datapath process restarted) or is unreachable. */
    boolean configured();

    /**
     * Adds the peer or updates it in place. {@code current} is what {@link #peers()} last reported for
     * this key (null: not there), read once per sync by the caller rather than once per peer; allowed
     * IPs are replaced only when they differ from it.
     */
    void upsertPeer(PeerConfig peer, PeerState current) throws IOException;

    /** Whether {@code current} already has exactly {@code wanted} as allowed IPs (compared as prefixes). */
    static boolean sameAllowedIps(PeerState current, List<String> wanted) {
        if (current == null) return false;
        java.util.Set<String> have = new java.util.HashSet<>(), want = new java.util.HashSet<>();
        for (String c : current.allowedIps()) have.add(io.wiremesh.api.net.Cidr.parse(c).toString());
        for (String c : wanted) want.add(io.wiremesh.api.net.Cidr.parse(c).toString());
        return have.equals(want);
    }

    void removePeer(String publicKey) throws IOException;

    List<PeerState> peers() throws IOException;

    @Override
    default void close() {}
}
