package io.wiremesh.node.cni;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Serves the CNI plugin on a root-only unix socket: one JSON request per connection, one JSON
 * reply ({@code ok} + {@code result}, or {@code code}/{@code msg}/{@code details}). Requests are
 * handled one at a time: pod wiring is quick and the netlink socket is not shared.
 */
public final class CniServer implements AutoCloseable {
    private final PodNetwork pods;
    private final Path path;
    private final ServerSocketChannel server;
    private final Thread acceptor;
    private volatile boolean closed;

    private CniServer(PodNetwork pods, Path path, ServerSocketChannel server) {
        this.pods = pods;
        this.path = path;
        this.server = server;
        this.acceptor = Thread.ofPlatform().name("cni-server").start(this::loop);
    }

    public static CniServer start(PodNetwork pods, Path path) throws IOException {
        Files.createDirectories(path.toAbsolutePath().getParent());
        Files.deleteIfExists(path);
        ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        s.bind(UnixDomainSocketAddress.of(path));
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
        return new CniServer(pods, path, s);
    }

    private void loop() {
        while (!closed) {
            try (SocketChannel c = server.accept()) {
                byte[] req = Channels.newInputStream(c).readAllBytes();
                byte[] reply = JSON.std.asBytes(handle(req));
                c.write(ByteBuffer.wrap(reply));
            } catch (IOException e) {
                if (closed) return;
            }
        }
    }

    Map<String, Object> handle(byte[] raw) {
        Map<String, Object> reply = new LinkedHashMap<>();
        try {
            Map<String, Object> req = JSON.std.mapFrom(raw);
            Object result = dispatch(req);
            reply.put("ok", true);
            if (result != null) reply.put("result", result);
        } catch (CniException e) {
            reply.put("ok", false);
            reply.put("code", e.code);
            reply.put("msg", e.getMessage());
            if (e.details != null) reply.put("details", e.details);
        } catch (IOException | RuntimeException e) {
            reply.put("ok", false);
            reply.put("code", CniException.IO_FAILURE);
            reply.put("msg", "node-daemon error: " + e);
        }
        return reply;
    }

    @SuppressWarnings("unchecked")
    private synchronized Object dispatch(Map<String, Object> req) throws CniException {
        String command = (String) req.get("command");
        Map<String, Object> config = (Map<String, Object>) req.get("config");
        String version = (String) config.get("cniVersion");
        String containerId = (String) req.get("containerId");
        String ifName = (String) req.get("ifName");
        PodNetwork.Attachment a = new PodNetwork.Attachment(containerId, (String) req.get("netns"), ifName,
                parseArgs((String) req.get("args")), version);
        return switch (command) {
            case "ADD" -> pods.add(a);
            case "DEL" -> {
                pods.del(containerId, ifName);
                yield null;
            }
            case "CHECK" -> {
                pods.check(a);
                yield null;
            }
            case "STATUS" -> null; // reachable and configured: ready for ADDs
            case "GC" -> {
                Set<String> keep = new HashSet<>();
                for (Object o : (List<Object>) config.getOrDefault("cni.dev/valid-attachments", List.of())) {
                    Map<String, Object> att = (Map<String, Object>) o;
                    keep.add(att.get("containerID") + "/" + att.get("ifname"));
                }
                pods.gc(keep);
                yield null;
            }
            default -> throw new CniException(CniException.INVALID_ENV, "unknown command " + command, null);
        };
    }

    /** CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=name". */
    static Map<String, String> parseArgs(String args) {
        Map<String, String> m = new HashMap<>();
        if (args == null) return m;
        for (String kv : args.split(";")) {
            int eq = kv.indexOf('=');
            if (eq > 0) m.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        return m;
    }

    public Path path() {
        return path;
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // nothing buffered
        }
        acceptor.interrupt();
        try {
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // gone already
        }
    }
}
