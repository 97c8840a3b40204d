package io.wiremesh.api.cni;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The node-daemon's answer to one {@link CniRequest}: the JSON object it writes back on the same
 * connection. Like the request, this is a wire format between separately installed binaries.
 *
 * <p>Wire shape, keys in this order, absent ones left out: success {@code {"ok":true,"result":{...}}}
 * ({@code result} only for commands that print one, i.e. ADD), failure
 * {@code {"ok":false,"code":7,"msg":"...","details":"..."}} ({@code details} optional). The failure keys
 * are those of the CNI spec's error object, which the plugin prints with {@link #specError}.
 *
 * @param ok      whether the command succeeded
 * @param result  on success, the CNI result to print on stdout (parsed JSON), or null for none
 * @param code    on failure, the CNI error code ({@link CniErrorCode} numbers, passed through as they
 *                come); 0 on success
 * @param msg     on failure, the short message; null on success
 * @param details on failure, the longer explanation, or null
 */
public record CniReply(boolean ok, Object result, int code, String msg, String details) {
    public static final String OK = "ok";
    public static final String RESULT = "result";
    public static final String CODE = "code";
    public static final String MSG = "msg";
    public static final String DETAILS = "details";
    /** The spec's error object carries the configuration's version as well (spec section "Error"). */
    public static final String CNI_VERSION = "cniVersion";

    /** A success, with the result to print ({@code null}: DEL, CHECK, STATUS and GC print nothing). */
    public static CniReply success(Object result) {
        return new CniReply(true, result, 0, null, null);
    }

    /** A failure with a well-known code; {@code details} may be null. */
    public static CniReply failure(CniErrorCode code, String msg, String details) {
        return failure(code.code(), msg, details);
    }

    /** A failure with a code as it came over the wire (possibly one this release does not know). */
    public static CniReply failure(int code, String msg, String details) {
        return new CniReply(false, null, code, msg, details);
    }

    /** The JSON object to send: insertion-ordered, null values left out. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(OK, ok);
        if (ok) {
            CniRequest.putIfPresent(m, RESULT, result);
        } else {
            m.put(CODE, code);
            CniRequest.putIfPresent(m, MSG, msg);
            CniRequest.putIfPresent(m, DETAILS, details);
        }
        return m;
    }

    /**
     * Reads a reply the daemon sent. Lenient, as the plugin always was: anything but {@code "ok":true}
     * is a failure, a failure without a numeric code is an I/O failure (5), a missing {@code msg} reads
     * as "null".
     *
     * @param map the parsed JSON object; null reads as a failure without a code
     */
    public static CniReply fromMap(Map<String, Object> map) {
        Map<String, Object> m = map == null ? Map.of() : map;
        if (Boolean.TRUE.equals(m.get(OK))) return success(m.get(RESULT));
        int code = m.get(CODE) instanceof Number n ? n.intValue() : CniErrorCode.IO_FAILURE.code();
        Object details = m.get(DETAILS);
        return failure(code, String.valueOf(m.get(MSG)), details == null ? null : String.valueOf(details));
    }

    /**
     * The error object a plugin prints on stdout for this failure (CNI spec section "Error"):
     * {@code {"cniVersion":..., "code":..., "msg":..., "details":...}}, {@code details} left out when
     * null.
     *
     * @param cniVersion the version of the network configuration being answered
     * @throws IllegalStateException when this reply is a success
     */
    public Map<String, Object> specError(String cniVersion) {
        if (ok) throw new IllegalStateException("a successful CNI reply has no error object");
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(CNI_VERSION, cniVersion);
        m.put(CODE, code);
        m.put(MSG, msg);
        CniRequest.putIfPresent(m, DETAILS, details);
        return m;
    }
}
