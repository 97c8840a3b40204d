package io.wiremesh.node.mesh;

import static io.wiremesh.testing.Commands.sh;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.wiremesh.api.v1alpha1.WireGuardMesh;
import io.wiremesh.api.v1alpha1.WireGuardMeshSpec;
import io.wiremesh.api.v1alpha1.WireGuardNode;
import io.wiremesh.api.v1alpha1.WireGuardNodeSpec;
import io.wiremesh.node.keys.NodeKey;
import io.wiremesh.node.netlink.NetNs;
import io.wiremesh.node.netlink.Netlink;
import io.wiremesh.node.wg.Datapaths;
import io.wiremesh.testing.KubeApiServer;
import io.wiremesh.testing.Liveness;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A mesh that asks for the kernel datapath on a node without the module: the daemon refuses, and its
 * WireGuardNode says why and what to change (checked on a real kube-apiserver).
 */
class DatapathChoiceTest {

    @TempDir
    Path state;

    @Test
    void kernelWithoutTheModuleIsReportedWithTheFix() throws Exception {
        if (Files.exists(Path.of("/sys/module/wireguard"))) return; // this node has the module: nothing to refuse
        sh("ip", "netns", "add", NS);
        try {
            // The node's underlay: the interface holding its address (--node-ip).
            sh("ip", "-n", NS, "link", "add", "ul0", "type", "veth", "peer", "name", "ul1");
            sh("ip", "-n", NS, "addr", "add", "10.9.9.9/24", "dev", "ul0");
            sh("ip", "-n", NS, "link", "set", "ul0", "up");
            KubernetesClient client = KubeApiServer.client();
            WireGuardMesh mesh = new WireGuardMesh();
            mesh.setMetadata(new ObjectMetaBuilder().withName("kmesh").build());
            mesh.setSpec(new WireGuardMeshSpec());
            mesh.getSpec().podCIDRs = List.of("10.47.0.0/16");
            mesh.getSpec().datapath = WireGuardMeshSpec.Datapath.KERNEL;
            client.resource(mesh).create();
            WireGuardNode w = new WireGuardNode();
            w.setMetadata(new ObjectMetaBuilder().withName("kmesh.n1").withLabels(java.util.Map.of(WireGuardNode.MESH_LABEL, "kmesh")).build());
            w.setSpec(new WireGuardNodeSpec());
            w.getSpec().mesh = "kmesh";
            w.getSpec().nodeName = "n1";
            w.getSpec().podCIDRs = List.of("10.47.1.0/24");
            client.resource(w).create();

            // The node's routes live in a namespace of the test's own.
            // Its sysctls: a directory of the test's own (the real ones are per namespace of the writing thread).
            Path sysctl = java.nio.file.Files.createDirectories(state.resolve("sys/ipv4/conf/ul0")).getParent().getParent().getParent();
            MeshRouting routing = NetNs.run(Path.of("/run/netns/" + NS), () -> new MeshRouting(Netlink.open(), "wmk0", sysctl));
            MeshAgent agent = new MeshAgent(client, "kmesh", "n1", NodeKey.loadOrCreate(state), null,
                    io.wiremesh.node.keys.NodeIdentity.loadOrCreate(state), null, "wmk0", routing, null, "10.9.9.9");
            agent.awaitMembership(Liveness.BOUND);
            assertThatThrownBy(agent::start).isInstanceOf(Datapaths.Unavailable.class).hasMessageContaining("modprobe wireguard");
            WireGuardNode got = client.resources(WireGuardNode.class).withName("kmesh.n1").get();
            assertThat(got.getStatus().conditions).singleElement().satisfies(c -> {
                assertThat(c.getStatus()).isEqualTo("False");
                assertThat(c.getReason()).isEqualTo("DatapathUnavailable");
                assertThat(c.getMessage()).contains("spec.datapath to auto or userspace");
            });
            assertThat(got.getStatus().publicKey).hasSize(44); // the public key is published all the same, signed
            assertThat(new io.wiremesh.api.identity.Proposal("kmesh.n1", "n1", got.getStatus().proposal.generation, got.getStatus().identityKey,
                    got.getStatus().publicKey, null, got.getStatus().endpoints).verify(got.getStatus().proposal.signature)).isTrue();
            // Fail closed even with no datapath at all: the pool's unreachable route is there.
            assertThat(sh("ip", "-n", NS, "route", "show", "type", "unreachable")).contains("10.47.0.0/16");
        } finally {
            new ProcessBuilder("ip", "netns", "del", NS).start().waitFor();
        }
    }

    private static final String NS = "wmt-dpchoice";

}
