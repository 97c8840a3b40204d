package io.wiremesh.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.wiremesh.api.crd.ColumnOrder;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** An external device (laptop, phone) that joins a mesh through gateway nodes. Cluster-scoped. */
@ColumnOrder({"MESH", "ADDRESSES", "ENDPOINT", "READY"})
@Group(WireGuardMesh.GROUP)
@Version(WireGuardMesh.VERSION)
@ShortNames("wgpeer")
@Plural("wireguardpeers")
@AdditionalPrinterColumn(name = "MESH", jsonPath = ".spec.mesh", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "ADDRESSES", jsonPath = ".status.addresses", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "ENDPOINT", jsonPath = ".status.gatewayEndpoints[0]", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "READY", jsonPath = ".status.conditions[?(@.type==\"Ready\")].status", type = AdditionalPrinterColumn.Type.STRING)
public class WireGuardPeer extends CustomResource<WireGuardPeerSpec, WireGuardPeerStatus> {}
