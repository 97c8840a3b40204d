package io.wiremesh.operator.mesh;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.wiremesh.api.net.Cidr;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardNodeSpec;
import io.wiremesh.operator.Conditions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A mesh's WireGuardNodes as the mesh reconciler makes and reads them. Pure. */
final class Members {
    private Members() {}

    /**
     * The WireGuardNode of a joining node: owned by the mesh (deleted with it), labelled with mesh and
     * node, holding its blocks, the first address of each as its overlay address, and its node addresses.
     *
     * @param blocks    one per pool, in pool order
     * @param addresses the node addresses other nodes may route to it (empty: none)
     */
    static WireGuardNode joining(WireGuardMesh mesh, String node, List<Cidr> blocks, List<String> addresses) {
        String meshName = mesh.getMetadata().getName();
        WireGuardNode member = new WireGuardNode();
        member.setMetadata(new ObjectMetaBuilder()
                .withName(WireGuardNode.nameFor(meshName, node))
                .withLabels(Map.of(WireGuardNode.MESH_LABEL, meshName, WireGuardNode.NODE_LABEL, node))
                .withOwnerReferences(new OwnerReferenceBuilder().withApiVersion(mesh.getApiVersion()).withKind(mesh.getKind())
                        .withName(meshName).withUid(mesh.getMetadata().getUid()).withController(true).withBlockOwnerDeletion(true).build())
                .build());
        WireGuardNodeSpec spec = new WireGuardNodeSpec();
        spec.mesh = meshName;
        spec.nodeName = node;
        spec.podCIDRs = blocks.stream().map(Cidr::toString).toList();
        spec.overlayAddresses = blocks.stream().map(b -> b.address(1)).toList();
        spec.nodeAddresses = addresses.isEmpty() ? null : addresses;
        spec.keyGeneration = 1L;
        member.setSpec(spec);
        return member;
    }

    /** Whether the member's status has a Ready condition that is True (its node-daemon says so). */
    static boolean reportsReady(WireGuardNode m) {
        if (m.getStatus() == null) return false;
        var c = Conditions.find(m.getStatus().conditions, Conditions.READY);
        return c != null && "True".equals(c.getStatus());
    }

    /** spec.nodeAddresses (never null). */
    static List<String> nodeAddresses(WireGuardNode m) {
        return m.getSpec().nodeAddresses == null ? List.of() : m.getSpec().nodeAddresses;
    }

    /** Whether the member is marked as departed ({@link WireGuardNode#ORPHANED_SINCE}): its node was gone or unselected. */
    static boolean departed(WireGuardNode m) {
        return m.getMetadata().getAnnotations() != null && m.getMetadata().getAnnotations().containsKey(WireGuardNode.ORPHANED_SINCE);
    }

    /** The value of annotation {@code key}, or null. */
    static String annotation(WireGuardNode m, String key) {
        Map<String, String> ann = m.getMetadata().getAnnotations();
        return ann == null ? null : ann.get(key);
    }

    /** Sets annotation {@code key} on {@code m} (as read for an edit) and returns it. */
    static WireGuardNode annotate(WireGuardNode m, String key, String value) {
        if (m.getMetadata().getAnnotations() == null) m.getMetadata().setAnnotations(new HashMap<>());
        m.getMetadata().getAnnotations().put(key, value);
        return m;
    }
}
