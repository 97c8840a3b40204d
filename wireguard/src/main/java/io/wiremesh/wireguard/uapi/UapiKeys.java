package io.wiremesh.wireguard.uapi;

/**
 * The words of WireGuard's cross-platform configuration protocol (the UAPI, spoken on
 * {@code /var/run/wireguard/IFNAME.sock}): https://www.wireguard.com/xplatform/, section
 * "Configuration Protocol". The one definition for both sides: the server ({@link Uapi},
 * {@link UapiServer}) and the node-daemon's client of any userspace datapath (wiremesh-wg or
 * wireguard-go).
 *
 * <p>A request is an operation line ({@link #GET} or {@link #SET}), then {@code key=value} lines, then
 * an empty line; the reply is {@code key=value} lines (for a get), then {@code errno=N}, then an
 * empty line. Device keys come first; {@link #PUBLIC_KEY} starts the lines of one peer, up to the
 * next {@code public_key}. Keys are hexadecimal (32 bytes), numbers decimal, booleans only
 * {@code true}.
 */
public final class UapiKeys {
    /** The operation line that asks for the whole configuration. */
    public static final String GET = "get=1";
    /** The operation line that changes the configuration with the lines that follow. */
    public static final String SET = "set=1";
    /** Ends every reply: 0, or a negative errno ({@link UapiException}). */
    public static final String ERRNO = "errno";

    // Device keys, get and set.
    /** The interface's private key (hex); all zeros removes it. */
    public static final String PRIVATE_KEY = "private_key";
    /** The UDP port (0-65535; 0: any); a get leaves it out while it is 0. */
    public static final String LISTEN_PORT = "listen_port";
    /** The firewall mark on outgoing packets (0: none); a get leaves it out while it is 0. */
    public static final String FWMARK = "fwmark";
    /** Set only, device: {@code true} removes every peer first. */
    public static final String REPLACE_PEERS = "replace_peers";

    // Peer keys.
    /** Starts a peer's lines (hex): the peer is created unless {@link #UPDATE_ONLY} follows. */
    public static final String PUBLIC_KEY = "public_key";
    /** Set only: {@code true} removes the peer. */
    public static final String REMOVE = "remove";
    /** Set only: {@code true} changes the peer only if it already exists. */
    public static final String UPDATE_ONLY = "update_only";
    /** The peer's preshared key (hex); all zeros for none. */
    public static final String PRESHARED_KEY = "preshared_key";
    /** {@code IP:port} or {@code [IPv6]:port}. */
    public static final String ENDPOINT = "endpoint";
    /** Seconds between keepalives (0: off). */
    public static final String PERSISTENT_KEEPALIVE_INTERVAL = "persistent_keepalive_interval";
    /** Set only: {@code true} removes the peer's allowed IPs before the {@link #ALLOWED_IP} lines that follow. */
    public static final String REPLACE_ALLOWED_IPS = "replace_allowed_ips";
    /** One allowed IP prefix ({@code address/length}), one line each. */
    public static final String ALLOWED_IP = "allowed_ip";
    /** Always 1; a set with another value is refused. */
    public static final String PROTOCOL_VERSION = "protocol_version";
    /** Get only: seconds part of the latest handshake's Unix time (0: never). */
    public static final String LAST_HANDSHAKE_TIME_SEC = "last_handshake_time_sec";
    /** Get only: nanoseconds part of the latest handshake's Unix time. */
    public static final String LAST_HANDSHAKE_TIME_NSEC = "last_handshake_time_nsec";
    /** Get only: bytes received from the peer. */
    public static final String RX_BYTES = "rx_bytes";
    /** Get only: bytes sent to the peer. */
    public static final String TX_BYTES = "tx_bytes";

    private UapiKeys() {}
}
