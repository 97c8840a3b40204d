package io.wiremesh.node.cni;

import io.wiremesh.api.cni.CniErrorCode;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The attachments a CNI GC request says are still valid (CNI spec 1.1.0, "GC: Clean up any stale
 * resources"). The spec text names the list {@code cni.dev/attachments}; libcni sent
 * {@code cni.dev/valid-attachments} first and now sends both with the same value, so either is accepted
 * (both: their union, so a disagreement never releases a pod one of them lists). An explicit empty list
 * means nothing is valid. A missing list is not "everything is stale": it is an invalid request and
 * nothing is released. Pure: parsing only.
 */
public final class GcRequest {
    /** The key in the CNI 1.1.0 specification text. */
    public static final String ATTACHMENTS = "cni.dev/attachments";
    /** The key libcni 1.2.0-1.2.2 sends (1.2.3+ sends both). */
    public static final String VALID_ATTACHMENTS = "cni.dev/valid-attachments";

    private GcRequest() {}

    /**
     * The valid attachments as "containerID/ifname" keys.
     *
     * @param config the network configuration the runtime passed on stdin
     * @throws CniException code 7 (invalid configuration) when neither list is present or one is not a
     *                      list of {containerID, ifname} objects; the message says what to send
     */
    @SuppressWarnings("unchecked")
    public static Set<String> validAttachments(Map<String, Object> config) throws CniException {
        boolean any = false;
        Set<String> keep = new LinkedHashSet<>();
        for (String key : List.of(ATTACHMENTS, VALID_ATTACHMENTS)) {
            if (!config.containsKey(key)) continue;
            any = true;
            if (!(config.get(key) instanceof List<?> list)) {
                throw new CniException(CniErrorCode.INVALID_CONFIG, "GC: " + key + " is not a list", "send a list of {containerID, ifname} objects; nothing was released");
            }
            List<String> bad = new ArrayList<>();
            for (Object o : list) {
                if (o instanceof Map<?, ?> m && m.get("containerID") instanceof String id && !id.isEmpty()
                        && m.get("ifname") instanceof String ifname && !ifname.isEmpty()) {
                    keep.add(id + "/" + ifname);
                } else {
                    bad.add(String.valueOf(o));
                }
            }
            if (!bad.isEmpty()) {
                throw new CniException(CniErrorCode.INVALID_CONFIG, "GC: " + key + " has entries without containerID and ifname: " + bad,
                        "nothing was released");
            }
        }
        if (!any) {
            throw new CniException(CniErrorCode.INVALID_CONFIG, "GC without " + ATTACHMENTS + " (or " + VALID_ATTACHMENTS + ")",
                    "a GC must list the attachments that are still valid (an empty list releases everything); nothing was released");
        }
        return keep;
    }
}
