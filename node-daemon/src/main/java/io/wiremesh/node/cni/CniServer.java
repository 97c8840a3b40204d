package io.wiremesh.node.cni;

import com.fasterxml.jackson.jr.ob.JSON;
import io.wiremesh.api.cni.CniErrorCode;
import io.wiremesh.api.cni.CniReply;
import io.wiremesh.api.cni.CniRequest;
import io.wiremesh.wireguard.linux.UnixSocketServer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Serves the CNI plugin on a root-only unix socket: one JSON request per connection
 * ({@link CniRequest}), one JSON reply ({@link CniReply}: {@code ok} + {@code result}, or
 * {@code code}/{@code msg}/{@code details}). Requests are handled one at a time: pod wiring is quick
 * and the netlink socket is not shared.
 */
public final class CniServer implements AutoCloseable {
    private final PodNetwork pods;
    private final Path path;
    private volatile UnixSocketServer server;

    private CniServer(PodNetwork pods, Path path) throws IOException {
        this.pods = pods;
        this.path = path;
        this.server = bind();
    }

    private UnixSocketServer bind() throws IOException {
        return UnixSocketServer.start(path, "rw-------", "cni-server", false, c -> {
            byte[] req = Channels.newInputStream(c).readAllBytes();
            c.write(ByteBuffer.wrap(JSON.std.asBytes(handle(req))));
        });
    }

    /**
     * Serves the socket again if its file was removed or replaced (a node clean-up, another
     * installer): plugins find the daemon by that path only.
     *
     * @return true when the socket had to be bound again
     * @throws IOException when it cannot be, e.g. another live process now serves that path
     */
    public synchronized boolean rebindIfUnreachable() throws IOException {
        if (server.reachable()) return false;
        UnixSocketServer fresh = bind(); // replaces a file that is not a live socket; refuses a live one
        UnixSocketServer old = server;
        server = fresh;
        old.close(); // leaves the new file alone
        return true;
    }

    /** Whether plugins reach this server at its path. */
    public boolean reachable() {
        return server.reachable();
    }

    public static CniServer start(PodNetwork pods, Path path) throws IOException {
        return new CniServer(pods, path);
    }

    /** One request's bytes in, the reply object out; never throws (every failure is a failed reply). */
    Map<String, Object> handle(byte[] raw) {
        CniReply reply;
        try {
            reply = CniReply.success(dispatch(CniRequest.fromMap(JSON.std.mapFrom(raw))));
        } catch (CniException e) {
            reply = CniReply.failure(e.code, e.getMessage(), e.details);
        } catch (IOException | RuntimeException e) {
            reply = CniReply.failure(CniErrorCode.IO_FAILURE, "node-daemon error: " + e, null);
        }
        return reply.toMap();
    }

    private synchronized Object dispatch(CniRequest req) throws CniException {
        String command = req.command();
        String version = (String) req.config().get("cniVersion");
        PodNetwork.Attachment a = new PodNetwork.Attachment(req.containerId(), req.netns(), req.ifName(), parseArgs(req.args()), version);
        return switch (command) {
            case "ADD" -> pods.add(a);
            case "DEL" -> {
                pods.del(req.containerId(), req.ifName());
                yield null;
            }
            case "CHECK" -> {
                pods.check(a);
                yield null;
            }
            case "STATUS" -> null; // reachable and configured: ready for ADDs
            case "GC" -> {
                pods.gc(GcRequest.validAttachments(req.config()));
                yield null;
            }
            default -> throw new CniException(CniErrorCode.INVALID_ENV, "unknown command " + command, null);
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
    public synchronized void close() {
        server.close();
    }
}
