package io.wiremesh.node.cni;

import com.fasterxml.jackson.jr.ob.JSON;
import io.wiremesh.wireguard.linux.UnixSocketServer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Serves the CNI plugin on a root-only unix socket: one JSON request per connection, one JSON
 * reply ({@code ok} + {@code result}, or {@code code}/{@code msg}/{@code details}). Requests are
 * handled one at a time: pod wiring is quick and the netlink socket is not shared.
 */
public final class CniServer implements AutoCloseable {
    private final PodNetwork pods;
    private final UnixSocketServer server;

    private CniServer(PodNetwork pods, Path path) throws IOException {
        this.pods = pods;
        this.server = UnixSocketServer.start(path, "rw-------", "cni-server", false, c -> {
            byte[] req = Channels.newInputStream(c).readAllBytes();
            c.write(ByteBuffer.wrap(JSON.std.asBytes(handle(req))));
        });
    }

    public static CniServer start(PodNetwork pods, Path path) throws IOException {
        return new CniServer(pods, path);
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
                pods.gc(GcRequest.validAttachments(config));
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
        return server.path();
    }

    @Override
    public void close() {
        server.close();
    }
}
