package io.wiremesh.node.cni;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The node's network configuration list ({@code 10-wiremesh.conflist}; CNI spec, "Section 1: Network configuration
 * format"), split into wiremesh's own part and what others chained onto it. Service meshes install their plugin by
 * appending an entry to the list the runtime uses (linkerd-cni, Istio's install-cni, Kuma): those entries, and any
 * top-level key wiremesh does not write, belong to their installers. wiremesh owns {@code cniVersion}, {@code name}
 * and its entries at the head of {@code plugins} (types {@link #OWN_TYPES}); a list is intact when those are as
 * written, whatever follows them ({@link #holds}), and a rewrite keeps what others added ({@link #render}). Pure:
 * bytes in, bytes out.
 *
 * @param cniVersion the list's cniVersion
 * @param name       the network's name
 * @param own        wiremesh's plugin entries, in order (its plugin, then portmap where the node has it)
 */
public record NetworkConfigList(String cniVersion, String name, List<Map<String, Object>> own) {
    /** Plugin types wiremesh writes itself: entries of these types are never kept from someone else. */
    public static final Set<String> OWN_TYPES = Set.of(CniInstaller.PLUGIN, "portmap");

    /**
     * What others added to a list: top-level keys besides cniVersion, name and plugins, and plugin entries of a
     * type not in {@link #OWN_TYPES}, in their order.
     */
    public record Chained(Map<String, Object> keys, List<Object> plugins) {
        public static final Chained NONE = new Chained(Map.of(), List.of());

        /** True when nothing was added. */
        public boolean isEmpty() {
            return keys.isEmpty() && plugins.isEmpty();
        }
    }

    public NetworkConfigList {
        own = List.copyOf(own);
    }

    /** The list as written: wiremesh's part, then {@code chained} (pretty-printed JSON, UTF-8). */
    public byte[] render(Chained chained) {
        Map<String, Object> conf = new LinkedHashMap<>();
        conf.put("cniVersion", cniVersion);
        conf.put("name", name);
        conf.putAll(chained.keys());
        List<Object> plugins = new ArrayList<>(own);
        plugins.addAll(chained.plugins());
        conf.put("plugins", plugins);
        try {
            return JSON.std.with(JSON.Feature.PRETTY_PRINT_OUTPUT).asBytes(conf);
        } catch (IOException e) {
            throw new IllegalStateException("cannot write a configuration list", e);
        }
    }

    /**
     * Whether {@code written} holds wiremesh's part as this list has it: the same cniVersion and name, wiremesh's
     * entries first and equal as JSON values, and none of its types again further on. False for bytes that are not a
     * JSON object (a runtime fails on those).
     */
    public boolean holds(byte[] written) {
        Map<String, Object> found = parse(written);
        if (found == null || !Objects.equals(cniVersion, found.get("cniVersion")) || !Objects.equals(name, found.get("name"))) return false;
        if (!(found.get("plugins") instanceof List<?> plugins) || plugins.size() < own.size()) return false;
        Map<String, Object> ownAsRead = parse(render(Chained.NONE)); // the same parser on both sides: numbers compare alike
        if (!ownAsRead.get("plugins").equals(plugins.subList(0, own.size()))) return false;
        for (Object p : plugins.subList(own.size(), plugins.size())) if (isOwn(p)) return false;
        return true;
    }

    /** What others added to {@code written}; null when it is not a JSON object (nothing can be told from it). */
    public static Chained chainedIn(byte[] written) {
        Map<String, Object> found = parse(written);
        if (found == null) return null;
        Map<String, Object> keys = new LinkedHashMap<>(found);
        keys.keySet().removeAll(Set.of("cniVersion", "name", "plugins"));
        List<Object> plugins = new ArrayList<>();
        if (found.get("plugins") instanceof List<?> list) for (Object p : list) if (!isOwn(p)) plugins.add(p);
        return new Chained(keys, plugins);
    }

    private static boolean isOwn(Object plugin) {
        return plugin instanceof Map<?, ?> m && m.get("type") instanceof String t && OWN_TYPES.contains(t);
    }

    private static Map<String, Object> parse(byte[] written) {
        try {
            return JSON.std.mapFrom(written);
        } catch (IOException | RuntimeException notAnObject) {
            return null;
        }
    }
}
