package io.wiremesh.api.cni;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One CNI invocation as the wiremesh CNI plugin forwards it to the node-daemon: the JSON object the
 * plugin writes to the daemon's unix socket ({@code /var/run/wiremesh/cni.sock}), one per connection,
 * answered by one {@link CniReply}. The plugin and the daemon ship separately (the plugin binary is
 * installed on the host and may be older than the daemon), so the key names and their order are a
 * wire format: change them only compatibly.
 *
 * <p>Wire shape, keys in this order, absent ones left out:
 * {@code {"command":"ADD","containerId":"c1","netns":"/var/run/netns/p1","ifName":"eth0",
 * "args":"K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p","config":{...}}}.
 *
 * @param command     CNI_COMMAND: ADD, DEL, CHECK, STATUS or GC (VERSION never reaches the daemon)
 * @param containerId CNI_CONTAINERID, or null when the command needs none
 * @param netns       CNI_NETNS (a path), or null
 * @param ifName      CNI_IFNAME, or null
 * @param args        CNI_ARGS unparsed ("K1=V1;K2=V2"), or null
 * @param config      the network configuration the runtime passed on stdin, as parsed JSON
 */
public record CniRequest(String command, String containerId, String netns, String ifName, String args, Map<String, Object> config) {
    public static final String COMMAND = "command";
    public static final String CONTAINER_ID = "containerId";
    public static final String NETNS = "netns";
    public static final String IF_NAME = "ifName";
    public static final String ARGS = "args";
    public static final String CONFIG = "config";

    /** The JSON object to send: insertion-ordered, null values left out (as the first plugin sent them). */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        putIfPresent(m, COMMAND, command);
        putIfPresent(m, CONTAINER_ID, containerId);
        putIfPresent(m, NETNS, netns);
        putIfPresent(m, IF_NAME, ifName);
        putIfPresent(m, ARGS, args);
        putIfPresent(m, CONFIG, config);
        return m;
    }

    /**
     * Reads a request the plugin sent.
     *
     * @param map the parsed JSON object (null when the plugin sent nothing)
     * @throws IllegalArgumentException when {@code command} or {@code config} is missing or a value has
     *                                  the wrong JSON type; the message names the key
     */
    @SuppressWarnings("unchecked")
    public static CniRequest fromMap(Map<String, Object> map) {
        if (map == null) throw new IllegalArgumentException("empty CNI request: the plugin sent no JSON object");
        String command = string(map, COMMAND);
        if (command == null) throw new IllegalArgumentException("CNI request without '" + COMMAND + "'" + MISMATCH);
        if (!(map.get(CONFIG) instanceof Map<?, ?> config)) {
            throw new IllegalArgumentException("CNI request without a '" + CONFIG + "' object" + MISMATCH);
        }
        return new CniRequest(command, string(map, CONTAINER_ID), string(map, NETNS), string(map, IF_NAME), string(map, ARGS),
                (Map<String, Object>) config);
    }

    private static final String MISMATCH = ": is the CNI plugin on this host from the same wiremesh release as the node-daemon?";

    private static String string(Map<String, Object> map, String key) {
        Object v = map.get(key);
        if (v == null || v instanceof String) return (String) v;
        throw new IllegalArgumentException("CNI request: '" + key + "' is not a string but " + v + MISMATCH);
    }

    static void putIfPresent(Map<String, Object> m, String key, Object value) {
        if (value != null) m.put(key, value);
    }
}
