package io.wiremesh.wireguard.handover;

import io.wiremesh.wireguard.routing.Prefix;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Everything a successor needs to carry on a device's live sessions: its configuration (as the UAPI
 * has it) and, per peer, the sessions (keys, send counters, replay windows), the handshake's replay
 * timestamp and the timers. Sent as text lines {@code key=value} after the descriptors
 * ({@link Handover}): the first line is {@code wiremesh-handover=VERSION}; a peer starts at its
 * {@code public_key}; unknown keys are skipped, so a newer release may add some and an older one
 * still takes over.
 *
 * <p>Times are ages or remaining durations in nanoseconds (never a process's own clock values), so
 * they mean the same in the successor; wall-clock values are nanoseconds since the epoch.
 *
 * @param tunOffload the TUN descriptor was opened with virtio-net headers
 */
public record DeviceState(byte[] privateKey, int listenPort, int fwmark, boolean tunOffload, boolean udpSegmentation,
                          boolean udpGro, List<PeerState> peers) {
    /** The format this release writes and reads. */
    public static final int VERSION = 1;

    /** Which of a peer's three sessions (whitepaper 5.4.6; previous, current, next). */
    public enum Slot { PREVIOUS, CURRENT, NEXT }

    /**
     * One transport session.
     *
     * @param ageNanos time since the session was derived
     * @param sendNonce the next counter to send with
     * @param replayNext one more than the greatest counter received (the replay window's edge)
     * @param replayRing the replay window's bitmap blocks
     */
    public record KeypairState(Slot slot, boolean initiator, int localIndex, int remoteIndex, long ageNanos, long sendNonce,
                               byte[] sendKey, byte[] receiveKey, long replayNext, long[] replayRing) {}

    /**
     * One peer.
     *
     * @param endpointSource our address the peer last sent to (sticky source), or null
     * @param latestTimestamp the greatest TAI64N accepted in an initiation (whitepaper 5.1, replay protection)
     * @param timers remaining nanoseconds per pending timer, by {@link io.wiremesh.wireguard.timers.Timers.Timer} name
     */
    public record PeerState(byte[] publicKey, byte[] presharedKey, InetSocketAddress endpoint, InetAddress endpointSource,
                            int persistentKeepalive, List<Prefix> allowedIps, long rxBytes, long txBytes,
                            long lastHandshakeEpochNanos, byte[] latestTimestamp, java.util.Map<String, Long> timers,
                            int handshakeAttempts, boolean needAnotherKeepalive, boolean sentLastMinuteHandshake,
                            List<KeypairState> keypairs) {}

    private static final HexFormat HEX = HexFormat.of();

    /**
     * Zeroes the keys this state holds (the private key, preshared keys, session keys) once they were sent or
     * installed; the text form cannot be erased (a Java string) and lives until collected.
     */
    public void erase() {
        if (privateKey != null) java.util.Arrays.fill(privateKey, (byte) 0);
        for (PeerState p : peers) {
            java.util.Arrays.fill(p.presharedKey(), (byte) 0);
            for (KeypairState k : p.keypairs()) {
                java.util.Arrays.fill(k.sendKey(), (byte) 0);
                java.util.Arrays.fill(k.receiveKey(), (byte) 0);
            }
        }
    }

    /** The text form (UTF-8 lines). */
    public String encode() {
        StringBuilder b = new StringBuilder();
        line(b, "wiremesh-handover", VERSION);
        line(b, "private_key", privateKey == null ? "" : HEX.formatHex(privateKey));
        line(b, "listen_port", listenPort);
        line(b, "fwmark", fwmark);
        line(b, "tun_offload", tunOffload);
        line(b, "udp_segmentation", udpSegmentation);
        line(b, "udp_gro", udpGro);
        for (PeerState p : peers) {
            line(b, "public_key", HEX.formatHex(p.publicKey()));
            line(b, "preshared_key", HEX.formatHex(p.presharedKey()));
            if (p.endpoint() != null) line(b, "endpoint", p.endpoint().getAddress().getHostAddress() + "," + p.endpoint().getPort());
            if (p.endpointSource() != null) line(b, "endpoint_source", p.endpointSource().getHostAddress());
            line(b, "persistent_keepalive_interval", p.persistentKeepalive());
            for (Prefix a : p.allowedIps()) line(b, "allowed_ip", a);
            line(b, "rx_bytes", p.rxBytes());
            line(b, "tx_bytes", p.txBytes());
            line(b, "last_handshake_time_nsec", p.lastHandshakeEpochNanos());
            line(b, "latest_timestamp", HEX.formatHex(p.latestTimestamp()));
            new java.util.TreeMap<>(p.timers()).forEach((t, left) -> line(b, "timer", t + "," + left));
            line(b, "handshake_attempts", p.handshakeAttempts());
            line(b, "need_another_keepalive", p.needAnotherKeepalive());
            line(b, "sent_last_minute_handshake", p.sentLastMinuteHandshake());
            for (KeypairState k : p.keypairs()) {
                StringBuilder ring = new StringBuilder();
                for (long l : k.replayRing()) ring.append(HEX.toHexDigits(l));
                line(b, "keypair", String.join(",", k.slot().name(), String.valueOf(k.initiator()), String.valueOf(k.localIndex()),
                        String.valueOf(k.remoteIndex()), String.valueOf(k.ageNanos()), Long.toUnsignedString(k.sendNonce()),
                        HEX.formatHex(k.sendKey()), HEX.formatHex(k.receiveKey()), Long.toUnsignedString(k.replayNext()), ring));
            }
        }
        return b.toString();
    }

    private static void line(StringBuilder b, String key, Object value) {
        b.append(key).append('=').append(value).append('\n');
    }

    /**
     * Parses the text form.
     *
     * @throws IllegalArgumentException another version, or a malformed line (the message names it)
     */
    public static DeviceState decode(String text) {
        List<String> lines = text.lines().toList();
        if (lines.isEmpty() || !lines.get(0).equals("wiremesh-handover=" + VERSION)) {
            throw new IllegalArgumentException("not a version " + VERSION + " handover state: " + (lines.isEmpty() ? "empty" : lines.get(0)));
        }
        byte[] key = null;
        int port = 0, mark = 0;
        boolean tunOffload = false, segmentation = false, gro = false;
        List<PeerState> peers = new ArrayList<>();
        PeerBuilder p = null;
        for (String l : lines.subList(1, lines.size())) {
            int eq = l.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("malformed line: " + l);
            String k = l.substring(0, eq), v = l.substring(eq + 1);
            try {
                switch (k) {
                    case "private_key" -> key = v.isEmpty() ? null : HEX.parseHex(v);
                    case "listen_port" -> port = Integer.parseInt(v);
                    case "fwmark" -> mark = Integer.parseInt(v);
                    case "tun_offload" -> tunOffload = Boolean.parseBoolean(v);
                    case "udp_segmentation" -> segmentation = Boolean.parseBoolean(v);
                    case "udp_gro" -> gro = Boolean.parseBoolean(v);
                    case "public_key" -> {
                        if (p != null) peers.add(p.build());
                        p = new PeerBuilder(HEX.parseHex(v));
                    }
                    default -> {
                        if (p == null) continue; // a device key of a newer release
                        p.set(k, v);
                    }
                }
            } catch (RuntimeException | UnknownHostException e) {
                throw new IllegalArgumentException("malformed line: " + l + " (" + e.getMessage() + ")", e);
            }
        }
        if (p != null) peers.add(p.build());
        return new DeviceState(key, port, mark, tunOffload, segmentation, gro, List.copyOf(peers));
    }

    private static final class PeerBuilder {
        final byte[] publicKey;
        byte[] psk = new byte[32], timestamp = new byte[12];
        InetSocketAddress endpoint;
        InetAddress source;
        int keepalive, attempts;
        long rx, tx, lastHandshake;
        boolean anotherKeepalive, lastMinute;
        final List<Prefix> allowed = new ArrayList<>();
        final java.util.Map<String, Long> timers = new java.util.LinkedHashMap<>();
        final List<KeypairState> keypairs = new ArrayList<>();

        PeerBuilder(byte[] publicKey) {
            this.publicKey = publicKey;
        }

        void set(String k, String v) throws UnknownHostException {
            switch (k) {
                case "preshared_key" -> psk = HEX.parseHex(v);
                case "endpoint" -> {
                    int c = v.lastIndexOf(',');
                    endpoint = new InetSocketAddress(InetAddress.getByName(v.substring(0, c)), Integer.parseInt(v.substring(c + 1)));
                }
                case "endpoint_source" -> source = InetAddress.getByName(v);
                case "persistent_keepalive_interval" -> keepalive = Integer.parseInt(v);
                case "allowed_ip" -> allowed.add(Prefix.parse(v));
                case "rx_bytes" -> rx = Long.parseLong(v);
                case "tx_bytes" -> tx = Long.parseLong(v);
                case "last_handshake_time_nsec" -> lastHandshake = Long.parseLong(v);
                case "latest_timestamp" -> timestamp = HEX.parseHex(v);
                case "timer" -> {
                    String[] f = v.split(",");
                    timers.put(f[0], Long.parseLong(f[1]));
                }
                case "handshake_attempts" -> attempts = Integer.parseInt(v);
                case "need_another_keepalive" -> anotherKeepalive = Boolean.parseBoolean(v);
                case "sent_last_minute_handshake" -> lastMinute = Boolean.parseBoolean(v);
                case "keypair" -> {
                    String[] f = v.split(",");
                    if (f.length < 10) throw new IllegalArgumentException("keypair needs 10 fields");
                    long[] ring = new long[f[9].length() / 16];
                    for (int i = 0; i < ring.length; i++) ring[i] = HexFormat.fromHexDigitsToLong(f[9], 16 * i, 16 * i + 16);
                    keypairs.add(new KeypairState(Slot.valueOf(f[0]), Boolean.parseBoolean(f[1]), Integer.parseInt(f[2]),
                            Integer.parseInt(f[3]), Long.parseLong(f[4]), Long.parseUnsignedLong(f[5]), HEX.parseHex(f[6]),
                            HEX.parseHex(f[7]), Long.parseUnsignedLong(f[8]), ring));
                }
                default -> {
                    // a peer key of a newer release
                }
            }
        }

        PeerState build() {
            return new PeerState(publicKey, psk, endpoint, source, keepalive, List.copyOf(allowed), rx, tx, lastHandshake, timestamp,
                    java.util.Map.copyOf(timers), attempts, anotherKeepalive, lastMinute, List.copyOf(keypairs));
        }
    }
}
