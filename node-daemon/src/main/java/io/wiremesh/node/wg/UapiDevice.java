package io.wiremesh.node.wg;

import io.wiremesh.wireguard.crypto.Keys;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * A userspace WireGuard interface driven over its UAPI socket (/var/run/wireguard/IFNAME.sock):
 * wiremesh-wg, or wireguard-go, whichever runs. The datapath is its own process, so restarting the
 * daemon never stops traffic.
 */
public final class UapiDevice implements WireGuardDevice {
    private final Path socket;

    public UapiDevice(Path socket) {
        this.socket = socket;
    }

    @Override
    public String kind() {
        return "userspace";
    }

    private String exchange(String request) throws IOException {
        try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            c.write(ByteBuffer.wrap(request.getBytes(StandardCharsets.UTF_8)));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteBuffer b = ByteBuffer.allocate(8192);
            while (!out.toString(StandardCharsets.UTF_8).endsWith("\n\n")) {
                b.clear();
                if (c.read(b) < 0) break;
                out.write(b.array(), 0, b.position());
            }
            String reply = out.toString(StandardCharsets.UTF_8);
            int at = reply.lastIndexOf("errno=");
            if (at < 0) throw new IOException("UAPI " + socket + ": no reply to " + request.lines().findFirst().orElse(""));
            int errno = Integer.parseInt(reply.substring(at + 6).trim());
            if (errno != 0) throw new IOException("UAPI " + socket + " refused the request (errno " + errno + ")");
            return reply.substring(0, at);
        }
    }

    private static String hex(String base64Key) {
        return Keys.toHex(Keys.fromBase64(base64Key));
    }

    @Override
    public void configure(byte[] privateKey, int listenPort) throws IOException {
        exchange("set=1\nprivate_key=" + Keys.toHex(privateKey) + "\nlisten_port=" + listenPort + "\n\n");
    }

    @Override
    public boolean configured() {
        try {
            return exchange("get=1\n\n").contains("private_key=");
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public void upsertPeer(PeerConfig p, PeerState current) throws IOException {
        StringBuilder sb = new StringBuilder("set=1\npublic_key=").append(hex(p.publicKey())).append('\n');
        if (p.endpoint() != null) sb.append("endpoint=").append(p.endpoint()).append('\n');
        if (p.presharedKey() != null) sb.append("preshared_key=").append(hex(p.presharedKey())).append('\n');
        sb.append("persistent_keepalive_interval=").append(p.persistentKeepalive()).append('\n');
        if (!WireGuardDevice.sameAllowedIps(current, p.allowedIps())) {
            sb.append("replace_allowed_ips=true\n");
            for (String ip : p.allowedIps()) sb.append("allowed_ip=").append(ip).append('\n');
        }
        exchange(sb.append('\n').toString());
    }

    @Override
    public void removePeer(String publicKey) throws IOException {
        exchange("set=1\npublic_key=" + hex(publicKey) + "\nremove=true\n\n");
    }

    @Override
    public List<PeerState> peers() throws IOException {
        List<PeerState> out = new ArrayList<>();
        String key = null, endpoint = null;
        List<String> ips = new ArrayList<>();
        long hs = 0, rx = 0, tx = 0;
        for (String line : exchange("get=1\n\n").split("\n")) {
            int eq = line.indexOf('=');
            if (eq < 0) continue;
            String k = line.substring(0, eq), v = line.substring(eq + 1);
            switch (k) {
                case "public_key" -> {
                    if (key != null) out.add(new PeerState(key, endpoint, ips, hs, rx, tx));
                    key = Keys.toBase64(HexFormat.of().parseHex(v));
                    endpoint = null;
                    ips = new ArrayList<>();
                    hs = rx = tx = 0;
                }
                case "endpoint" -> endpoint = v;
                case "allowed_ip" -> ips.add(v);
                case "last_handshake_time_sec" -> hs = Long.parseLong(v);
                case "rx_bytes" -> rx = Long.parseLong(v);
                case "tx_bytes" -> tx = Long.parseLong(v);
                default -> { }
            }
        }
        if (key != null) out.add(new PeerState(key, endpoint, ips, hs, rx, tx));
        return out;
    }
}
