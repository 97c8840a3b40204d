package io.wiremesh.cni;

import com.fasterxml.jackson.jr.ob.JSON;
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
 * VERSION itself and forwards everything else to the node-daemon over a unix socket; the daemon
 * does the netlink work and IPAM and returns the result to print. Errors are spec-shaped JSON on
 * stdout with a non-zero exit. Kept small for start-up time: only Jackson jr, no reflection-heavy
 * binding.
 */
public final class Main {
    static final String SPEC_VERSION = "1.1.0";
    static final List<String> SUPPORTED = List.of("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0");
    static final String DEFAULT_SOCKET = "/var/run/wiremesh/cni.sock";

    // CNI error codes (spec section "Error")
    static final int INCOMPATIBLE_VERSION = 1;
    static final int UNSUPPORTED_FIELD = 2;
    static final int INVALID_ENV = 4;
    static final int IO_FAILURE = 5;
    static final int DECODE_FAILURE = 6;
    static final int INVALID_CONFIG = 7;
    static final int TRY_AGAIN_LATER = 11;
    static final int NOT_AVAILABLE = 50;

    /** A failure to report as a CNI error. */
    static final class CniError extends Exception {
        final int code;
        final String details;

        CniError(int code, String msg, String details) {
            super(msg);
            this.code = code;
            this.details = details;
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
            Map<String, Object> request = request(command, env, config, version);
            String socket = config.get("socket") instanceof String p ? p : DEFAULT_SOCKET;
            Map<String, Object> reply = call(Path.of(socket), request, command);
            if (Boolean.TRUE.equals(reply.get("ok"))) {
                Object result = reply.get("result");
                if (result != null) out.println(JSON.std.asString(result));
                return 0;
            }
            int code = reply.get("code") instanceof Number n ? n.intValue() : IO_FAILURE;
            throw new CniError(code, String.valueOf(reply.get("msg")), reply.get("details") == null ? null : String.valueOf(reply.get("details")));
        } catch (CniError e) {
            Map<String, Object> err = new LinkedHashMap<>();
            err.put("cniVersion", version);
            err.put("code", e.code);
            err.put("msg", e.getMessage());
            if (e.details != null) err.put("details", e.details);
            try {
                out.println(JSON.std.asString(err));
            } catch (IOException ignored) {
                out.println("{\"cniVersion\":\"" + version + "\",\"code\":" + e.code + ",\"msg\":\"internal error\"}");
            }
            return 1;
        } catch (IOException e) {
            out.println("{\"cniVersion\":\"" + version + "\",\"code\":" + IO_FAILURE + ",\"msg\":\"I/O failure\"}");
            return 1;
        }
    }

    /** Checks the CNI_* variables each command needs and builds the daemon request. */
    static Map<String, Object> request(String command, Map<String, String> env, Map<String, Object> config, String version) throws CniError {
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
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("command", command);
        r.put("containerId", env.get("CNI_CONTAINERID"));
        r.put("netns", netns);
        r.put("ifName", env.get("CNI_IFNAME"));
        r.put("args", env.get("CNI_ARGS"));
        r.put("config", config);
        return r;
    }

    /** One request, one reply, over the daemon's unix socket. */
    static Map<String, Object> call(Path socket, Map<String, Object> request, String command) throws CniError, IOException {
        SocketChannel ch;
        try {
            ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            int code = command.equals("STATUS") ? NOT_AVAILABLE : TRY_AGAIN_LATER;
            throw new CniError(code, "the wiremesh node-daemon is not running", "cannot connect to " + socket + ": " + e.getMessage());
        }
        try (ch) {
            ch.write(ByteBuffer.wrap((JSON.std.asString(request) + "\n").getBytes(StandardCharsets.UTF_8)));
            ch.shutdownOutput();
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            ByteBuffer b = ByteBuffer.allocate(8192);
            while (ch.read(b) >= 0) {
                buf.write(b.array(), 0, b.position());
                b.clear();
            }
            if (buf.size() == 0) throw new CniError(IO_FAILURE, "the node-daemon closed the connection without a reply", null);
            return JSON.std.mapFrom(buf.toByteArray());
        }
    }

    private static byte[] readAll(InputStream in) throws IOException {
        return in.readAllBytes();
    }
}
