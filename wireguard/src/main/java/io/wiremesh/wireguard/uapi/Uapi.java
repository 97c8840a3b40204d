package io.wiremesh.wireguard.uapi;

import static io.wiremesh.wireguard.uapi.UapiException.EADDRINUSE;
import static io.wiremesh.wireguard.uapi.UapiException.EINVAL;
import static io.wiremesh.wireguard.uapi.UapiKeys.*;

import io.wiremesh.wireguard.crypto.Keys;
import io.wiremesh.wireguard.device.Device;
import io.wiremesh.wireguard.device.Peer;
import io.wiremesh.wireguard.noise.Identity;
import io.wiremesh.wireguard.routing.Prefix;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * The cross-platform configuration protocol (wireguard.com/xplatform), with wireguard-go's key
 * names ({@link UapiKeys}), output order and errno values, so the unmodified {@code wg} tool drives a
 * Java device.
 */
public final class Uapi {
    private final Device device;

    public Uapi(Device device) {
        this.device = device;
    }

    /** The body of a {@code get=1} reply, without the trailing errno line. */
    public String get() {
        StringBuilder sb = new StringBuilder();
        Identity id = device.identity();
        if (id != null) line(sb, PRIVATE_KEY, Keys.toHex(id.privateKey));
        if (device.listenPort() != 0) line(sb, LISTEN_PORT, Integer.toString(device.listenPort()));
        if (device.fwmark() != 0) line(sb, FWMARK, Integer.toUnsignedString(device.fwmark()));
        for (Peer p : device.peers()) {
            line(sb, PUBLIC_KEY, Keys.toHex(p.publicKey()));
            line(sb, PRESHARED_KEY, Keys.toHex(device.presharedKey(p)));
            line(sb, PROTOCOL_VERSION, "1");
            var ep = p.endpoint();
            if (ep != null) line(sb, ENDPOINT, formatEndpoint(ep.address()));
            long hs = p.lastHandshakeEpochNanos();
            line(sb, LAST_HANDSHAKE_TIME_SEC, Long.toString(hs / 1_000_000_000L));
            line(sb, LAST_HANDSHAKE_TIME_NSEC, Long.toString(hs % 1_000_000_000L));
            line(sb, TX_BYTES, Long.toString(p.txBytes()));
            line(sb, RX_BYTES, Long.toString(p.rxBytes()));
            line(sb, PERSISTENT_KEEPALIVE_INTERVAL, Integer.toString(p.persistentKeepalive()));
            for (Prefix prefix : device.allowedIps(p)) line(sb, ALLOWED_IP, prefix.toString());
        }
        return sb.toString();
    }

    private static void line(StringBuilder sb, String k, String v) {
        sb.append(k).append('=').append(v).append('\n');
    }

    public static String formatEndpoint(InetSocketAddress ep) {
        InetAddress a = ep.getAddress();
        String host = a.getHostAddress();
        int pct = host.indexOf('%');
        if (pct >= 0) host = host.substring(0, pct);
        if (a.getAddress().length == 16) host = "[" + Prefix.parse(host).toString().replaceAll("/128$", "") + "]";
        return host + ":" + ep.getPort();
    }

    /** Applies the lines of a {@code set=1} request, in order, as wireguard-go's IpcSetOperation. */
    public void set(List<String> lines) throws UapiException {
        // Not while the device is being handed over: a change (a keepalive sent, a socket swapped) after the snapshot
        // would be lost, or use a send counter the successor uses too.
        if (!device.holdForConfiguration()) throw new UapiException(UapiException.EBUSY, "the device was handed over to its successor");
        try {
            apply(lines);
        } finally {
            device.endConfiguration();
        }
    }

    private void apply(List<String> lines) throws UapiException {
        PeerSection peer = null;
        for (String line : lines) {
            int eq = line.indexOf('=');
            if (eq < 0) throw new UapiException(EINVAL, "failed to parse line " + line);
            String key = line.substring(0, eq);
            String value = line.substring(eq + 1);
            if (key.equals(PUBLIC_KEY)) {
                if (peer != null) peer.finish();
                peer = new PeerSection(key(value));
                continue;
            }
            if (peer == null) setDevice(key, value);
            else peer.set(key, value);
        }
        if (peer != null) peer.finish();
    }

    private void setDevice(String key, String value) throws UapiException {
        switch (key) {
            case PRIVATE_KEY -> device.setPrivateKey(key(value));
            case LISTEN_PORT -> {
                int port = (int) parseUnsigned(value, 0xffff);
                try {
                    device.setListenPort(port);
                } catch (IOException e) {
                    throw new UapiException(EADDRINUSE, "failed to set listen_port: " + e.getMessage());
                }
            }
            case FWMARK -> {
                try {
                    device.setFwmark((int) parseUnsigned(value, 0xffffffffL));
                } catch (IOException e) {
                    throw new UapiException(UapiException.EIO, "failed to set fwmark: " + e.getMessage());
                }
            }
            case REPLACE_PEERS -> {
                requireTrue(key, value);
                device.removeAllPeers();
            }
            default -> throw new UapiException(EINVAL, "invalid UAPI device key: " + key);
        }
    }

    /** The lines after one {@code public_key=}: created lazily so update_only and remove work. */
    private final class PeerSection {
        private final byte[] publicKey;
        private Peer peer;
        private boolean updateOnly;
        private boolean dummy;
        private boolean keepaliveTurnedOn;

        PeerSection(byte[] publicKey) {
            this.publicKey = publicKey;
        }

        private Peer peer() {
            if (peer == null && !dummy) {
                peer = device.peer(publicKey);
                if (peer == null && !updateOnly) peer = device.addPeer(publicKey);
                if (peer == null) dummy = true;
            }
            return peer;
        }

        void set(String key, String value) throws UapiException {
            switch (key) {
                case UPDATE_ONLY -> {
                    requireTrue(key, value);
                    if (peer == null) updateOnly = true;
                }
                case REMOVE -> {
                    requireTrue(key, value);
                    Peer p = device.peer(publicKey);
                    if (p != null) device.removePeer(p);
                    peer = null;
                    dummy = true;
                }
                case PRESHARED_KEY -> {
                    byte[] psk = key(value);
                    if (peer() != null) device.setPresharedKey(peer, psk);
                }
                case ENDPOINT -> {
                    InetSocketAddress ep = parseEndpoint(value);
                    if (peer() != null) peer.setEndpoint(ep);
                }
                case PERSISTENT_KEEPALIVE_INTERVAL -> {
                    int secs = (int) parseUnsigned(value, 0xffff);
                    if (peer() != null) {
                        keepaliveTurnedOn = peer.persistentKeepalive() == 0 && secs > 0;
                        device.setPersistentKeepalive(peer, secs);
                    }
                }
                case REPLACE_ALLOWED_IPS -> {
                    requireTrue(key, value);
                    if (peer() != null) device.clearAllowedIps(peer);
                }
                case ALLOWED_IP -> {
                    Prefix prefix;
                    if (value.indexOf('/') < 0) throw new UapiException(EINVAL, "failed to set allowed ip: " + value);
                    try {
                        prefix = Prefix.parse(value);
                    } catch (IllegalArgumentException e) {
                        throw new UapiException(EINVAL, "failed to set allowed ip: " + e.getMessage());
                    }
                    if (peer() != null) device.addAllowedIp(peer, prefix);
                }
                case PROTOCOL_VERSION -> {
                    if (!value.equals("1")) throw new UapiException(EINVAL, "invalid protocol version: " + value);
                    peer();
                }
                default -> throw new UapiException(EINVAL, "invalid UAPI peer key: " + key);
            }
        }

        /** Like wireguard-go's handlePostConfig: a keepalive turned on is sent once the whole section is applied. */
        void finish() {
            peer();
            if (peer != null && keepaliveTurnedOn) device.sendKeepalive(peer);
        }
    }

    private static void requireTrue(String key, String value) throws UapiException {
        if (!value.equals("true")) throw new UapiException(EINVAL, "failed to set " + key + ", invalid value: " + value);
    }

    private static byte[] key(String hex) throws UapiException {
        try {
            return Keys.fromHex(hex);
        } catch (IllegalArgumentException e) {
            throw new UapiException(EINVAL, "failed to parse key: " + e.getMessage());
        }
    }

    private static long parseUnsigned(String v, long max) throws UapiException {
        try {
            long n = Long.parseLong(v);
            if (n < 0 || n > max || v.startsWith("+")) throw new NumberFormatException();
            return n;
        } catch (NumberFormatException e) {
            throw new UapiException(EINVAL, "invalid number: " + v);
        }
    }

    static InetSocketAddress parseEndpoint(String v) throws UapiException {
        int colon = v.lastIndexOf(':');
        if (colon <= 0) throw new UapiException(EINVAL, "invalid endpoint: " + v);
        String host = v.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        else if (host.indexOf(':') >= 0) throw new UapiException(EINVAL, "invalid endpoint: " + v);
        try {
            Prefix literal = Prefix.parse(host); // literal addresses only: no DNS on the data path
            int port = (int) parseUnsigned(v.substring(colon + 1), 0xffff);
            return new InetSocketAddress(InetAddress.getByAddress(literal.address()), port);
        } catch (IllegalArgumentException | UnknownHostException e) {
            throw new UapiException(EINVAL, "invalid endpoint: " + v);
        }
    }
}
