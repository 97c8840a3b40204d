package io.wiremesh.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.wiremesh.api.crd.ColumnOrder;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** A WireGuard mesh over the nodes it selects: the pod address pools and how each node's tunnel is set up. Cluster-scoped. */
@ColumnOrder({"READY", "NODES", "UP-TO-DATE", "CIDRS", "AGE"})
@Group(WireGuardMesh.GROUP)
@Version(WireGuardMesh.VERSION)
@ShortNames("wgmesh")
@Plural("wireguardmeshes")
@AdditionalPrinterColumn(name = "READY", jsonPath = ".status.conditions[?(@.type==\"Ready\")].status", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "NODES", jsonPath = ".status.nodes", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "UP-TO-DATE", jsonPath = ".status.upToDateNodes", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "CIDRS", jsonPath = ".spec.podCIDRs", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "AGE", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class WireGuardMesh extends CustomResource<WireGuardMeshSpec, WireGuardMeshStatus> {
    public static final String GROUP = "wiremesh.io";
    public static final String VERSION = "v1alpha1";
}
