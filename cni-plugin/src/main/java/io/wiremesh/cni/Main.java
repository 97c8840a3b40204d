package io.wiremesh.cni;

import static io.wiremesh.api.cni.CniErrorCode.DECODE_FAILURE;
import static io.wiremesh.api.cni.CniErrorCode.INCOMPATIBLE_VERSION;
import static io.wiremesh.api.cni.CniErrorCode.INVALID_CONFIG;
import static io.wiremesh.api.cni.CniErrorCode.INVALID_ENV;
import static io.wiremesh.api.cni.CniErrorCode.IO_FAILURE;
import static io.wiremesh.api.cni.CniErrorCode.NOT_AVAILABLE;
import static io.wiremesh.api.cni.CniErrorCode.TRY_AGAIN_LATER;

import com.fasterxml.jackson.jr.ob.JSON;
import io.wiremesh.api.cni.CniErrorCode;
import io.wiremesh.api.cni.CniReply;
import io.wiremesh.api.cni.CniRequest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The wiremesh CNI plugin (spec 1.1.0; configs 0.3.0-1.1.0 accepted). It checks its input, answers
 * VERSION itself and forwards everything else to the node-daemon over a unix socket
 * ({@link CniRequest}, answered by a {@link CniReply}: the one definition both sides use); the daemon
 * does the netlink work and IPAM and returns the result to print. Errors are spec-shaped JSON on
 * stdout with a non-zero exit. Kept small for start-up time: only Jackson jr and the plain-Java
 * contract classes of wiremesh-api (none of its Kubernetes dependencies), no reflection-heavy binding.
 */
public final class Main {
    static final String SPEC_VERSION = "1.1.0";
    static final List<String> SUPPORTED = List.of("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0");
    static final String DEFAULT_SOCKET = "/var/run/wiremesh/cni.sock";

    /** A failure to report as a CNI error: the plugin's own, or the daemon's, passed through. */
    static final class CniError extends Exception {
        final CniReply reply;

        CniError(CniErrorCode code, String msg, String details) {
            this(CniReply.failure(code, msg, details));
        }

        CniError(CniReply failure) {
            super(failure.msg());
            this.reply = failure;
        }
    }

    private Main() {}

    public static void main(String[] args) {
        System.exit(run(System.getenv(), System.in, System.out));
    }

    static int run(Map<String, String> env, InputStream stdin, PrintStream out) {
        String version = SPEC_VERSION;
        try {
            String command = env.get("CNI_COMMAND");
            if (command == null || command.isEmpty()) throw new CniError(INVALID_ENV, "CNI_COMMAND is not set", "set CNI_COMMAND to ADD, DEL, CHECK, STATUS, GC or VERSION");
            if (command.equals("VERSION")) {
                Map<String, Object> v = new LinkedHashMap<>();
                v.put("cniVersion", SPEC_VERSION);
                v.put("supportedVersions", SUPPORTED);
                out.println(JSON.std.asString(v));
                return 0;
            }
            byte[] raw = readAll(stdin);
            Map<String, Object> config;
            try {
                config = JSON.std.mapFrom(raw);
            } catch (IOException e) {
                throw new CniError(DECODE_FAILURE, "cannot decode the network configuration on stdin", e.getMessage());
            }
            if (config == null) throw new CniError(DECODE_FAILURE, "empty network configuration on stdin", null);
            Object cv = config.get("cniVersion");
            if (!(cv instanceof String s) || !SUPPORTED.contains(s)) {
                throw new CniError(INCOMPATIBLE_VERSION, "unsupported cniVersion " + cv, "supported: " + SUPPORTED);
            }
            version = s;
            if (!(config.get("name") instanceof String)) throw new CniError(INVALID_CONFIG, "the network configuration has no name", null);
            CniRequest request = request(command, env, config, version);
            String socket = config.get("socket") instanceof String p ? p : DEFAULT_SOCKET;
            CniReply reply = call(Path.of(socket), request, command);
            if (reply.ok()) {
                if (reply.result() != null) out.println(JSON.std.asString(reply.result()));
                return 0;
            }
            throw new CniError(reply);
        } catch (CniError e) {
            try {
                out.println(JSON.std.asString(e.reply.specError(version)));
            } catch (IOException ignored) {
                out.println("{\"cniVersion\":\"" + version + "\",\"code\":" + e.reply.code() + ",\"msg\":\"internal error\"}");
            }
            return 1;
        } catch (IOException e) {
            out.println("{\"cniVersion\":\"" + version + "\",\"code\":" + IO_FAILURE.code() + ",\"msg\":\"I/O failure\"}");
            return 1;
        }
    }

    /** Checks the CNI_* variables each command needs and builds the daemon request. */
    static CniRequest request(String command, Map<String, String> env, Map<String, Object> config, String version) throws CniError {
        List<String> required = switch (command) {
            case "ADD", "CHECK" -> List.of("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME");
            case "DEL" -> List.of("CNI_CONTAINERID", "CNI_IFNAME");
            case "STATUS", "GC" -> List.of();
            default -> throw new CniError(INVALID_ENV, "unknown CNI_COMMAND " + command, "expected ADD, DEL, CHECK, STATUS, GC or VERSION");
        };
        if ((command.equals("CHECK") && version.startsWith("0.3")) || ((command.equals("STATUS") || command.equals("GC")) && !version.equals("1.1.0"))) {
            throw new CniError(INCOMPATIBLE_VERSION, command + " is not defined for cniVersion " + version, null);
        }
        for (String k : required) {
            String v = env.get(k);
            if (v == null || v.isEmpty()) throw new CniError(INVALID_ENV, k + " is not set", command + " needs " + required);
        }
        String netns = env.get("CNI_NETNS");
        if (netns != null && !netns.isEmpty() && !command.equals("DEL") && !Files.exists(Path.of(netns))) {
            throw new CniError(INVALID_ENV, "CNI_NETNS " + netns + " does not exist", "the container's network namespace must exist for " + command);
        }
        return new CniRequest(command, env.get("CNI_CONTAINERID"), netns, env.get("CNI_IFNAME"), env.get("CNI_ARGS"), config);
    }

    /** One request, one reply, over the daemon's unix socket. */
    static CniReply call(Path socket, CniRequest request, String command) throws CniError, IOException {
        SocketChannel ch;
        try {
            ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            CniErrorCode code = command.equals("STATUS") ? NOT_AVAILABLE : TRY_AGAIN_LATER;
            throw new CniError(code, "the wiremesh node-daemon is not running", "cannot connect to " + socket + ": " + e.getMessage());
        }
        try (ch) {
            ch.write(ByteBuffer.wrap((JSON.std.asString(request.toMap()) + "\n").getBytes(StandardCharsets.UTF_8)));
            ch.shutdownOutput();
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            ByteBuffer b = ByteBuffer.allocate(8192);
            while (ch.read(b) >= 0) {
                buf.write(b.array(), 0, b.position());
                b.clear();
            }
            if (buf.size() == 0) throw new CniError(IO_FAILURE, "the node-daemon closed the connection without a reply", null);
            return CniReply.fromMap(JSON.std.mapFrom(buf.toByteArray()));
        }
    }

    private static byte[] readAll(InputStream in) throws IOException {
        return in.readAllBytes();
    }
}
